"""Made-up names for a synthetic roster: villages, persons, families, firms, schools and
clinics, each drawn from small pools of plausible Chinese words (pingan.services.synth)."""

from __future__ import annotations

from collections.abc import Callable

VILLAGE_FIRST = "东南西北上下前后大小新老高中龙凤金石青白黄马杨桃柳梅竹沙双长"
VILLAGE_SECOND = "岭塘湾桥山河溪庄坪岗埠口园湖滩林港圩墩坝洲泉头营店集楼寨堰浦"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红建文"
    "辉力志国春林海波宁斌亮婷雪琴云飞鹏俊峰莉燕凤成晨欣宇浩然子涵"
    "梓轩佳怡雨萱"
)
_FIRMS = (
    "宏达",
    "恒信",
    "华兴",
    "永安",
    "金源",
    "鑫盛",
    "瑞丰",
    "嘉禾",
    "中鼎",
    "天成",
    "远航",
    "东升",
    "振华",
    "力通",
    "兴业",
    "佳和",
    "新宇",
    "鸿运",
    "广利",
    "博远",
)
_INDUSTRIES = (
    "机械",
    "食品",
    "建材",
    "物流",
    "纺织",
    "电子",
    "五金",
    "塑业",
    "家具",
    "服饰",
    "包装",
    "农业科技",
)
_CLINIC_WORDS = ("仁和", "康宁", "济民", "益康", "同济", "惠民", "仁心", "博爱", "安康", "华康")
_KINDERGARTEN_WORDS = ("阳光", "童心", "蓝天", "小太阳", "启明星", "育才", "爱心", "金色童年")
_CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return (_CN_DIGITS[tens] if tens > 1 else "") + "十" + (_CN_DIGITS[ones] if ones else "")
    # Only reached beyond ~9 million cells; Arabic digits keep names unique there too.
    return str(n)


# --- names -------------------------------------------------------------------------------

Rnd = Callable[[], float]
Maker = Callable[[Rnd, str, str], tuple[str, str]]


def pick(rnd: Rnd, options: str | tuple[str, ...]) -> str:
    # Indexing by rnd() is several times faster than Random.choice in the hot loop.
    return options[int(rnd() * len(options))]


def person(rnd: Rnd) -> str:
    surname = pick(rnd, _SURNAMES)
    if rnd() < 0.3:
        return surname + pick(rnd, _GIVEN)
    return surname + pick(rnd, _GIVEN) + pick(rnd, _GIVEN)


def _family(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    # The household head named in the cell is also its contact, as on a paper roster.
    head = person(rnd)
    return f"{head}家庭", head


def _enterprise(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    return f"{town}{pick(rnd, _FIRMS)}{pick(rnd, _INDUSTRIES)}有限公司", person(rnd)


def _middle_school(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    return f"{town}第{cn_number(1 + int(rnd() * 9))}中学", person(rnd)


def _primary_school(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    kind = "中心小学" if rnd() < 0.25 else "小学"
    return f"{village}{kind}", person(rnd)


def _kindergarten(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    if rnd() < 0.3:
        return f"{town}{pick(rnd, _KINDERGARTEN_WORDS)}幼儿园", person(rnd)
    return f"{village}幼儿园", person(rnd)


def _health_centre(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    return f"{town}卫生院{village}分院", person(rnd)


def _village_clinic(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    return f"{village}卫生室", person(rnd)


def _clinic(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    if rnd() < 0.3:
        doctor = person(rnd)
        return f"{town}{doctor[0]}氏诊所", doctor
    return f"{town}{pick(rnd, _CLINIC_WORDS)}诊所", person(rnd)


def _private_hospital(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
    return f"{town}{pick(rnd, _CLINIC_WORDS)}医院", person(rnd)


def generic_maker(category: str) -> Maker:
    # 东岭镇宏达农贸市场: a trade name keeps several of one category in a group apart.
    def make(rnd: Rnd, village: str, town: str) -> tuple[str, str]:
        return f"{village}{pick(rnd, _FIRMS)}{category}", person(rnd)

    return make


MAKERS: dict[str, Maker] = {
    "家庭": _family,
    "企业": _enterprise,
    "中学": _middle_school,
    "小学": _primary_school,
    "幼儿园": _kindergarten,
    "卫生院": _health_centre,
    "卫生室": _village_clinic,
    "诊所": _clinic,
    "民营医院": _private_hospital,
}
