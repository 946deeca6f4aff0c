"""Developer tools that are not part of the product: a local sshd for the SFTP demo and tests."""
