"""Plausible Chinese names, drawn with numpy from frequency-weighted lists.

Surname weights follow the published rankings roughly (王 李 张 刘 陈 lead);
the exact figures do not matter, the shape does: realistic duplicates of
common names are what makes name-based matching dangerous and ID-based
matching necessary.  Nothing here is a real person.
"""
from __future__ import annotations

import numpy as np

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
_W = np.array([7.1, 7.0, 6.8, 5.4, 4.5, 3.1, 2.2, 2.0, 2.0, 1.7, 1.3, 1.2, 1.2, 1.1, 1.0, 1.0, 0.9, 0.9,
               0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
               0.5, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4])
SURNAME_P = _W[: len(SURNAMES)] / _W[: len(SURNAMES)].sum()
MALE_GIVEN = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文")
FEMALE_GIVEN = list("芳娜敏静丽艳娟霞秀英玲桂兰萍红琴云梅莉燕雪琳洁婷慧")
MINORITY = ["买买提·艾力", "阿依古丽·吐尔逊", "热依拉·买买提", "扎西·多吉", "古丽娜尔·艾山"]


def draw_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = len(male)
    surname = np.array(SURNAMES)[rng.choice(len(SURNAMES), n, p=SURNAME_P)]
    m_pool, f_pool = np.array(MALE_GIVEN), np.array(FEMALE_GIVEN)
    g1 = np.where(male, m_pool[rng.integers(0, len(m_pool), n)], f_pool[rng.integers(0, len(f_pool), n)])
    g2 = np.where(male, m_pool[rng.integers(0, len(m_pool), n)], f_pool[rng.integers(0, len(f_pool), n)])
    two = rng.random(n) < 0.6
    names = np.char.add(np.char.add(surname, g1), np.where(two, g2, ""))
    minority = rng.random(n) < 0.01
    names[minority] = np.array(MINORITY)[rng.integers(0, len(MINORITY), int(minority.sum()))]
    return names.astype(object)
