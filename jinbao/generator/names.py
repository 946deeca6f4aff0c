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
MALE_GIVEN = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文海林峰东亮成龙")
FEMALE_GIVEN = list("芳娜敏静丽艳娟霞秀英玲桂兰萍红琴云梅莉燕雪琳洁婷慧淑珍凤颖倩")
#: Uyghur-style personal name + father's name, joined by the middle dot (·) as IDs print them.
MINORITY_MALE = ["买买提", "阿不都", "艾力", "吐尔逊", "艾山", "玉素甫", "阿布拉", "努尔"]
MINORITY_FEMALE = ["阿依古丽", "热依拉", "古丽娜尔", "帕提古丽", "米热古丽", "阿娜尔"]
MINORITY_FATHER = ["艾力", "吐尔逊", "买买提", "艾山", "阿布拉", "玉素甫", "卡德尔", "司马义"]


def draw_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = len(male)
    surname = np.array(SURNAMES)[rng.choice(len(SURNAMES), n, p=SURNAME_P)]
    m_pool, f_pool = np.array(MALE_GIVEN), np.array(FEMALE_GIVEN)
    g1 = np.where(male, m_pool[rng.integers(0, len(m_pool), n)], f_pool[rng.integers(0, len(f_pool), n)])
    g2 = np.where(male, m_pool[rng.integers(0, len(m_pool), n)], f_pool[rng.integers(0, len(f_pool), n)])
    two = rng.random(n) < 0.6
    names = np.char.add(np.char.add(surname, g1), np.where(two, g2, "")).astype(object)
    minority = np.flatnonzero(rng.random(n) < 0.01)
    k = len(minority)
    m_pool, f_pool = np.array(MINORITY_MALE), np.array(MINORITY_FEMALE)
    own = np.where(male[minority], m_pool[rng.integers(0, len(m_pool), k)], f_pool[rng.integers(0, len(f_pool), k)])
    father = np.array(MINORITY_FATHER)[rng.integers(0, len(MINORITY_FATHER), k)]
    names[minority] = np.char.add(np.char.add(own, "·"), father).astype(object)   # object: no truncation
    return names


#: Same-sounding characters that offices really confuse when a name is taken down by ear
#: (伟/玮, 静/婧, 买买提's 提/题 ...): a different but plausible spelling of the same name.
HOMOPHONES = dict(zip(
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文林峰东成龙"
    "芳娜敏静丽艳娟霞秀英玲桂兰萍红琴云梅莉燕琳洁婷慧淑珍凤颖倩"
    "海亮雪力逊提山拉甫尔义不",
    "玮蔷垒君永捷滔铭晁钢萍晖朋桦菲欣博彬雨皓恺建骏凡健帼智雯琳锋冬诚隆"
    "方纳闽婧莉燕鹃侠琇瑛铃贵岚平虹芹芸玫丽艳林杰亭惠舒贞奉影茜"
    "亥靓学利迅题珊啦府耳亦布"))


def variant(names: np.ndarray) -> np.ndarray:
    """The same names as another office spells them: the last character that has a common
    homophone is replaced by it (张伟 -> 张玮, 艾山·吐尔逊 -> 艾山·吐尔迅).  Every given-name
    character of the lists above has one, so every drawn name has a variant.  Only planted
    rows pass here, so a loop is fine."""
    out = []
    for name in names:
        chars = list(str(name))
        for i in range(len(chars) - 1, 0, -1):      # never the surname (position 0)
            if chars[i] in HOMOPHONES:
                chars[i] = HOMOPHONES[chars[i]]
                break
        out.append("".join(chars))
    return np.array(out, dtype=object)
