"""Jinbao Exchange (金保交换): the engine, store access and command line of the hub."""
__version__ = "0.1.0"
