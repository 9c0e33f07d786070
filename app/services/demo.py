"""Realistic demo data, the same for the same seed.

Students come from the countries that send most students to Korea, speak their country's
languages (CLDR territory data from Babel) plus English and some Korean; SMEs carry Korean names,
valid business registration numbers, and mostly do not export yet (the programme's target group).
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from babel.languages import get_official_languages
from flask import current_app
from sqlalchemy import func, select

from app import taxonomy
from app.extensions import db
from app.models import (
    SME,
    Consent,
    Match,
    MatchStatus,
    Role,
    SMECode,
    Student,
    StudentCode,
    StudentLanguage,
    User,
    utcnow,
)
from app.schemas import BUSINESS_NUMBER_WEIGHTS
from app.services import cycles as cycle_service
from app.services import demo_journey
from app.services.accounts import hash_password
from matching import FACTORS, SIDES, learning, side_weights

DEMO_DOMAIN = "demo.kexport.example"

# Weights follow the make-up of international students in Korea: a few countries send most.
COUNTRIES = {
    "VN": 30,
    "CN": 25,
    "UZ": 8,
    "MN": 6,
    "NP": 5,
    "JP": 3,
    "ID": 3,
    "US": 3,
    "MY": 2,
    "PK": 2,
    "BD": 2,
    "KZ": 2,
    "IN": 2,
    "TH": 2,
    "PH": 2,
    "MM": 2,
    "RU": 2,
    "FR": 1,
    "DE": 1,
    "TW": 1,
    "KG": 1,
    "ET": 1,
    "EG": 1,
    "BR": 1,
    "MX": 1,
    "TR": 1,
    "CO": 1,
    "ES": 1,
    "GB": 1,
    "CA": 1,
}

NAMES = {
    "VN": (
        ["Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu"],
        ["Anh", "Linh", "Minh", "Thao", "Huy", "Trang"],
    ),
    "CN": (
        ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang"],
        ["Wei", "Fang", "Jing", "Lei", "Min", "Yan"],
    ),
    "UZ": (
        ["Karimov", "Rakhimova", "Yusupov", "Tashkentova"],
        ["Aziz", "Dilnoza", "Jasur", "Madina"],
    ),
    "MN": (["Bat-Erdene", "Ganbold", "Enkhbayar"], ["Anu", "Bilguun", "Nomin", "Temuulen"]),
    "NP": (["Shrestha", "Gurung", "Thapa", "Rai"], ["Sita", "Bikash", "Anita", "Suman"]),
    "JP": (["Sato", "Suzuki", "Takahashi", "Tanaka"], ["Yuki", "Haruto", "Aoi", "Ren"]),
    "ID": (["Santoso", "Wijaya", "Putri", "Saputra"], ["Dewi", "Agus", "Rina", "Budi"]),
    "RU": (["Ivanova", "Petrov", "Smirnova", "Kuznetsov"], ["Anna", "Dmitry", "Olga", "Ivan"]),
    "MX": (["García", "Hernández", "López", "Martínez"], ["Sofía", "Diego", "Valeria", "Mateo"]),
    "FR": (["Martin", "Bernard", "Dubois", "Moreau"], ["Camille", "Louis", "Chloé", "Hugo"]),
}
GENERIC_NAMES = (
    ["Khan", "Smith", "Ali", "Rahman", "Silva", "Ahmed", "Kumar", "Müller"],
    ["Sara", "Omar", "Maria", "David", "Aisha", "Leo", "Nadia", "Sam"],
)

UNIVERSITIES = [
    ("Seoul National University", "seoul"),
    ("Yonsei University", "seoul"),
    ("Korea University", "seoul"),
    ("Sungkyunkwan University", "seoul"),
    ("Hanyang University", "seoul"),
    ("Kyung Hee University", "seoul"),
    ("Hankuk University of Foreign Studies", "seoul"),
    ("Sogang University", "seoul"),
    ("Chung-Ang University", "seoul"),
    ("Konkuk University", "seoul"),
    ("Ajou University", "gyeonggi"),
    ("Gachon University", "gyeonggi"),
    ("Inha University", "incheon"),
    ("Pusan National University", "busan"),
    ("Kyungpook National University", "daegu"),
    ("Keimyung University", "daegu"),
    ("Chungnam National University", "daejeon"),
    ("KAIST", "daejeon"),
    ("Jeonbuk National University", "jeonbuk"),
    ("Chonnam National University", "gwangju"),
    ("Jeju National University", "jeju"),
    ("Kangwon National University", "gangwon"),
]
MAJORS = [
    "International Trade",
    "Business Administration",
    "Korean Language and Literature",
    "Economics",
    "Marketing",
    "Computer Science",
    "Industrial Engineering",
    "Food Science",
    "Chemical Engineering",
    "Media and Communication",
    "Fashion Design",
    "Mechanical Engineering",
    "International Studies",
    "Biotechnology",
]
SME_PREFIXES = [
    "한빛",
    "대성",
    "동양",
    "미래",
    "새한",
    "청우",
    "푸른",
    "세진",
    "신일",
    "태광",
    "금강",
    "한결",
    "다온",
    "보람",
    "늘봄",
    "가온",
    "하나",
    "성진",
    "대원",
    "우성",
]
SME_WORDS = {
    "cosmetics": "코스메틱",
    "processed_food": "푸드",
    "agri_fishery": "농산",
    "machinery": "기계",
    "auto_parts": "오토텍",
    "electronics": "전자",
    "semiconductors": "세미텍",
    "medical_devices": "메디칼",
    "pharma_bio": "바이오",
    "software_it": "소프트",
    "content_games": "엔터테인먼트",
    "fashion_textiles": "패션",
    "chemicals": "케미칼",
    "plastics_rubber": "폴리머",
    "metals": "금속",
    "shipbuilding_marine": "마린",
    "energy_environment": "에너지",
    "household_goods": "리빙",
    "furniture_interior": "퍼니처",
    "construction_materials": "건자재",
    "logistics_services": "로지스",
    "education_services": "에듀",
}
# English names and products for every other demo SME (the rest write Korean only, so English
# readers see a Korean fallback, labelled). Derived from the Korean choice: no extra random draw,
# so a seed gives the same people as before.
SME_PREFIXES_EN = dict(
    zip(
        SME_PREFIXES,
        "Hanbit Daesung Dongyang Mirae Saehan Cheongwoo Pureun Sejin Shinil Taekwang Geumgang "
        "Hangyeol Daon Boram Neulbom Gaon Hana Sungjin Daewon Woosung".split(),
        strict=True,
    )
)
SME_WORDS_EN = {
    "cosmetics": "Cosmetics",
    "processed_food": "Foods",
    "agri_fishery": "Agro",
    "machinery": "Machinery",
    "auto_parts": "Autotech",
    "electronics": "Electronics",
    "semiconductors": "Semitech",
    "medical_devices": "Medical",
    "pharma_bio": "Bio",
    "software_it": "Soft",
    "content_games": "Entertainment",
    "fashion_textiles": "Fashion",
    "chemicals": "Chemical",
    "plastics_rubber": "Polymer",
    "metals": "Metal",
    "shipbuilding_marine": "Marine",
    "energy_environment": "Energy",
    "household_goods": "Living",
    "furniture_interior": "Furniture",
    "construction_materials": "Building Materials",
    "logistics_services": "Logis",
    "education_services": "Edu",
}
SME_PRODUCTS_EN = {
    "cosmetics": "Skin care, sunscreen, sheet masks",
    "processed_food": "Kimchi, sauces, ready meals",
    "agri_fishery": "Ginseng, laver, dried seafood",
    "machinery": "Packaging machines, industrial pumps",
    "auto_parts": "Brake pads, electrical parts",
    "electronics": "Small appliances, smart lighting",
    "semiconductors": "Parts for semiconductor test equipment",
    "medical_devices": "Thermometers, rehabilitation aids",
    "pharma_bio": "Health supplements, diagnostic kits",
    "software_it": "ERP software, mobile apps",
    "content_games": "Mobile games, webtoons",
    "fashion_textiles": "Functional clothing, fabrics",
    "chemicals": "Cleaning agents, adhesives",
    "plastics_rubber": "Food containers, rubber seals",
    "metals": "Precision-machined parts, stainless containers",
    "shipbuilding_marine": "Marine valves",
    "energy_environment": "Solar module parts, water filters",
    "household_goods": "Kitchenware, bathroom goods",
    "furniture_interior": "Office furniture, lighting",
    "construction_materials": "Insulation, tiles",
    "logistics_services": "Export logistics and warehousing",
    "education_services": "Online Korean courses",
}
DEMO_DESCRIPTION_EN = (
    "A first-time exporter looking for students to research the local market and find buyers "
    "with us."
)
SME_PRODUCTS = {
    "cosmetics": "기초 화장품, 선크림, 마스크팩",
    "processed_food": "김치, 소스류, 즉석식품",
    "agri_fishery": "인삼, 김, 건어물",
    "machinery": "포장기계, 산업용 펌프",
    "auto_parts": "브레이크 패드, 전장 부품",
    "electronics": "소형 가전, 스마트 조명",
    "semiconductors": "반도체 검사 장비 부품",
    "medical_devices": "체온계, 재활 보조기기",
    "pharma_bio": "건강기능식품, 진단키트",
    "software_it": "ERP 솔루션, 모바일 앱",
    "content_games": "모바일 게임, 웹툰",
    "fashion_textiles": "기능성 의류, 원단",
    "chemicals": "세정제, 접착제",
    "plastics_rubber": "식품 용기, 고무 패킹",
    "metals": "정밀 가공 부품, 스테인리스 용기",
    "shipbuilding_marine": "선박용 밸브",
    "energy_environment": "태양광 모듈 부품, 수처리 필터",
    "household_goods": "주방용품, 욕실용품",
    "furniture_interior": "사무용 가구, 조명",
    "construction_materials": "단열재, 타일",
    "logistics_services": "국제 물류 대행",
    "education_services": "한국어 교육 콘텐츠",
}
# Where Korean SMEs sell abroad, most first (KITA-style ordering of SME export destinations).
MARKETS = {
    "CN": 20,
    "US": 18,
    "VN": 14,
    "JP": 12,
    "HK": 4,
    "TW": 4,
    "ID": 5,
    "TH": 4,
    "IN": 4,
    "MX": 3,
    "MY": 3,
    "PH": 3,
    "DE": 3,
    "RU": 2,
    "AE": 2,
    "UZ": 2,
    "MN": 2,
    "FR": 1,
    "BR": 1,
    "TR": 1,
}
INDUSTRY_WEIGHTS = {
    "cosmetics": 12,
    "processed_food": 10,
    "machinery": 10,
    "electronics": 8,
    "auto_parts": 8,
    "medical_devices": 5,
    "software_it": 6,
    "content_games": 4,
    "fashion_textiles": 5,
    "chemicals": 4,
    "plastics_rubber": 4,
    "metals": 4,
    "household_goods": 5,
    "pharma_bio": 4,
    "agri_fishery": 3,
    "semiconductors": 3,
    "energy_environment": 3,
    "furniture_interior": 2,
    "construction_materials": 2,
    "shipbuilding_marine": 1,
    "logistics_services": 1,
    "education_services": 1,
}
REGION_WEIGHTS = {
    "seoul": 20,
    "gyeonggi": 25,
    "incheon": 6,
    "busan": 7,
    "daegu": 5,
    "gwangju": 3,
    "daejeon": 3,
    "ulsan": 2,
    "sejong": 1,
    "gangwon": 2,
    "chungbuk": 4,
    "chungnam": 4,
    "jeonbuk": 2,
    "jeonnam": 2,
    "gyeongbuk": 5,
    "gyeongnam": 6,
    "jeju": 1,
}
# The KSIC section of a firm in each industry: most programme SMEs make things (C); software and
# content are J, logistics H, education P. Goods brands that only trade are G (see _ksic_section).
KSIC_BY_INDUSTRY = {
    "cosmetics": "C",
    "processed_food": "C",
    "agri_fishery": "A",
    "machinery": "C",
    "auto_parts": "C",
    "electronics": "C",
    "semiconductors": "C",
    "medical_devices": "C",
    "pharma_bio": "C",
    "software_it": "J",
    "content_games": "J",
    "fashion_textiles": "C",
    "chemicals": "C",
    "plastics_rubber": "C",
    "metals": "C",
    "shipbuilding_marine": "C",
    "energy_environment": "E",
    "household_goods": "C",
    "furniture_interior": "C",
    "construction_materials": "C",
    "logistics_services": "H",
    "education_services": "P",
}
# Programme of study by visa: D-4 is the Korean language programme; D-10 and F visas have
# (mostly) graduated, so their last programme is shown.
DEGREES_BY_VISA = {
    "d2": ({"bachelor": 70, "master": 20, "doctorate": 5, "associate": 5}),
    "d4": ({"language": 1}),
    "d10": ({"bachelor": 65, "master": 35}),
    "f2": ({"bachelor": 60, "master": 30, "doctorate": 10}),
}
YEARS_OF_DEGREE = {"language": 1, "associate": 2, "bachelor": 4, "master": 2, "doctorate": 4}
DEMO_DESCRIPTION = "수출 초보 기업으로 현지 시장조사와 바이어 발굴을 함께할 유학생을 찾습니다."
KO_SURNAMES = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"]
KO_GIVEN = ["민준", "서연", "지훈", "수빈", "현우", "지은", "도윤", "하은", "성민", "유진"]


@dataclass
class DemoResult:
    students: int
    smes: int
    logins: list[tuple[str, str, str]]  # (role, email, password)


def business_number(rng: random.Random, taken: set[str]) -> str:
    while True:
        head = (
            [rng.randint(1, 9)]
            + [rng.randint(0, 9) for _ in range(2)]
            + [8, 1]
            + [rng.randint(0, 9) for _ in range(4)]
        )
        total = sum(w * d for w, d in zip(BUSINESS_NUMBER_WEIGHTS, head, strict=True))
        total += (5 * head[8]) // 10
        number = "".join(map(str, head)) + str((10 - total % 10) % 10)
        if number not in taken:
            taken.add(number)
            return number


def _pick(rng: random.Random, weights: dict[str, int], k: int = 1) -> list[str]:
    population, w = list(weights), list(weights.values())
    chosen: list[str] = []
    while len(chosen) < k:
        code = rng.choices(population, w)[0]
        if code not in chosen:
            chosen.append(code)
    return chosen


def _languages_of(country: str) -> list[str]:
    codes = [c for c in get_official_languages(country, de_facto=True) if len(c) == 2]
    return [c for c in codes if taxonomy.is_valid("languages", c)] or ["en"]


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _studies(rng: random.Random, visa: str, today: date) -> dict[str, Any]:
    """Degree, year, expected graduation and arrival month consistent with the visa."""
    degree = _pick(rng, DEGREES_BY_VISA.get(visa, {"bachelor": 1}))[0]
    length = YEARS_OF_DEGREE[degree]
    if visa == "d4":
        # Language trainees: some arrived last term (not yet six months), most earlier.
        arrived = _months_before(today, rng.choice([2, 4, 7, 9, 12, 15]))
        return {"degree_level": degree, "year_of_study": 1, "in_korea_since": arrived}
    if visa in ("d10", "f2"):
        graduated = _months_before(today, rng.choice([3, 6, 9, 15]))
        return {
            "degree_level": degree,
            "expected_graduation": graduated,
            "in_korea_since": _months_before(graduated, 12 * length + rng.choice([0, 6, 12])),
        }
    year = rng.randint(1, length)
    # Korean graduations are in February and August.
    ahead = 12 * (length - year) + rng.choice([3, 9])
    graduation = _months_before(today, -ahead)
    graduation = graduation.replace(month=2 if graduation.month <= 5 else 8)
    # Many spent a year in a language programme before their degree.
    since = _months_before(today, 12 * (year - 1) + rng.choice([6, 6, 18]))
    return {
        "degree_level": degree,
        "year_of_study": year,
        "expected_graduation": graduation,
        "in_korea_since": since,
    }


def _ksic_section(rng: random.Random, industry: str) -> str:
    section = KSIC_BY_INDUSTRY.get(industry, "C")
    if section == "C" and rng.random() < 0.2:
        return "G"  # a brand that has its goods made and trades them
    if industry == "construction_materials" and rng.random() < 0.3:
        return "F"  # installs what it sells
    return section


def is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id)))


def seed(students: int = 60, smes: int = 30, seed: int = 1, *, journey: bool = False) -> DemoResult:
    """Add `students` students and `smes` SMEs (plus one demo coordinator), deterministically.

    With `journey`, also one match per stage of a pair's life (`demo_journey`), the first demo
    student and SME working together; only into a database without matches yet."""
    rng = random.Random(seed)
    password = secrets.token_urlsafe(9)
    password_hash = hash_password(password)  # one hash for every demo account: seeding stays fast
    version = current_app.config["CONSENT_POLICY_VERSION"]
    offset = db.session.scalar(select(func.count(User.id))) or 0
    logins: list[tuple[str, str, str]] = []
    student_users: list[User] = []
    sme_users: list[User] = []
    now = utcnow()

    today = date.today()
    for n in range(students):
        country = _pick(rng, COUNTRIES)[0]
        surnames, given = NAMES.get(country, GENERIC_NAMES)
        university, uni_region = rng.choice(UNIVERSITIES)
        visa = rng.choices(["d2", "d4", "d10", "f2"], [80, 8, 10, 2])[0]
        email = f"student{offset + n + 1}@{DEMO_DOMAIN}"
        user = User(
            email=email,
            password_hash=password_hash,
            role=Role.STUDENT,
            locale=rng.choice(["en", "en", "ko"]),
            email_verified_at=now,  # demo accounts are verified: their addresses take no mail
        )
        student = Student(
            user=user,
            name=f"{rng.choice(given)} {rng.choice(surnames)}",
            nationality=country,
            topik_level=rng.choices(range(7), [1, 1, 2, 3, 3, 2, 1])[0],
            university=university,
            major=rng.choice(MAJORS),
            hours_per_week=rng.choice([8, 10, 12, 15, 20]),
            visa=visa,
            **_studies(rng, visa, today),
            bio=f"{rng.choice(MAJORS)} student at {university}, keen to help Korean companies "
            f"reach {taxonomy.name('countries', country, 'en')}.",
        )
        native = _languages_of(country)
        rows = [StudentLanguage(code=native[0], level="native", position=0)]
        if native[0] != "en":
            rows.append(
                StudentLanguage(
                    code="en",
                    position=1,
                    level=rng.choice(["fluent", "business", "conversational"]),
                )
            )
        if rng.random() < 0.3:
            extra = rng.choice(["zh", "ja", "ru", "fr", "es"])
            if extra not in {row.code for row in rows}:
                rows.append(StudentLanguage(code=extra, level="basic", position=len(rows)))
        student.language_rows = rows
        markets = {country} | set(_pick(rng, MARKETS, rng.randint(0, 2)))
        codes = [StudentCode(kind="market", code=m) for m in sorted(markets)]
        codes += [
            StudentCode(kind="industry", code=i)
            for i in _pick(rng, INDUSTRY_WEIGHTS, rng.randint(1, 3))
        ]
        regions = {uni_region} | ({"seoul", "gyeonggi"} if rng.random() < 0.4 else set())
        codes += [StudentCode(kind="region", code=r) for r in sorted(regions)]
        student.code_rows = codes
        db.session.add_all([user, student])
        student_users.append(user)
        db.session.add(
            Consent(
                user=user,
                policy_version=version,
                collection=True,
                provision_to_smes=rng.random() < 0.95,
            )
        )
        if n == 0:
            logins.append(("student", email, password))

    taken = set(db.session.scalars(select(SME.business_number)))
    for n in range(smes):
        industries = _pick(rng, INDUSTRY_WEIGHTS, rng.choice([1, 1, 2]))
        email = f"sme{offset + n + 1}@{DEMO_DOMAIN}"
        user = User(
            email=email,
            password_hash=password_hash,
            role=Role.SME,
            locale="ko",
            email_verified_at=now,
        )
        contact_name = rng.choice(KO_SURNAMES) + rng.choice(KO_GIVEN)
        form, prefix = rng.choice(["", "(주)", "(주)"]), rng.choice(SME_PREFIXES)
        english = n % 2 == 0
        sme = SME(
            user=user,
            contact_name=contact_name,
            company_name_ko=f"{form}{prefix}{SME_WORDS[industries[0]]}",
            company_name_en=(
                f"{SME_PREFIXES_EN[prefix]} {SME_WORDS_EN.get(industries[0], 'Trading')}"
                f"{' Co., Ltd.' if form else ''}"
                if english
                else None
            ),
            business_number=business_number(rng, taken),
            products_ko=SME_PRODUCTS[industries[0]],
            products_en=SME_PRODUCTS_EN.get(industries[0]) if english else None,
            region=_pick(rng, REGION_WEIGHTS)[0],
            capacity=rng.choices([1, 2, 3, 5], [50, 30, 15, 5])[0],
            exporting=rng.random() < 0.25,
            min_topik=rng.choices([0, 2, 3, 4], [60, 15, 15, 10])[0],
            ksic_section=_ksic_section(rng, industries[0]),
            hours_needed=rng.choices([0, 10, 15, 20, 30], [30, 25, 20, 15, 10])[0],
            description_ko=DEMO_DESCRIPTION,
            description_en=DEMO_DESCRIPTION_EN if english else None,
        )
        if rng.random() < 0.7:
            sme.period_start = _months_before(today, -rng.randint(0, 2))
            sme.period_end = _months_before(sme.period_start, -rng.choice([3, 6, 12])) - timedelta(
                days=1
            )
        sme_codes = [SMECode(kind="industry", code=i) for i in industries]
        sme_codes += [
            SMECode(kind="market", code=m) for m in _pick(rng, MARKETS, rng.randint(1, 3))
        ]
        sme.code_rows = sme_codes
        db.session.add_all([user, sme])
        sme_users.append(user)
        db.session.add(
            Consent(user=user, policy_version=version, collection=True, provision_to_smes=True)
        )
        if n == 0:
            logins.append(("sme", email, password))

    coordinator_email = f"coordinator@{DEMO_DOMAIN}"
    if not db.session.scalar(select(User.id).where(User.email == coordinator_email)):
        db.session.add(
            User(
                email=coordinator_email,
                password_hash=password_hash,
                role=Role.COORDINATOR,
                locale="ko",
                email_verified_at=now,
            )
        )
        logins.append(("coordinator", coordinator_email, password))
    db.session.flush()
    if journey and db.session.scalar(select(func.count(Match.id))) == 0:
        demo_journey.seed(rng, student_users, sme_users)
    return DemoResult(students=students, smes=smes, logins=logins)


def simulate_answers(cycles: int = 4, seed: int = 1) -> dict[str, int]:
    """Run `cycles` matching cycles and answer every proposal as hidden "true" preferences say.

    The demo's people are not the defaults' people: SMEs care about the market and the student's
    Korean far more than the default weights assume, students about the region
    (`matching.learning.TRUE_WEIGHTS`). Each side accepts with probability
    sigmoid(15 × (its view under the true weights − the cycle's median)); a decline names the
    criterion that fell shortest, one answer in ten is an unrelated capacity or schedule decline,
    whoever answers first may close the proposal with a decline, and pairs both sides accepted
    are approved. Answers are written as seeded data (no emails, like the profiles above), in
    the shape `decisions.decide` leaves them; the cycles are real cycles.

    Each cycle commits (that is what a cycle does); returns the answers given per side."""
    rng = random.Random(seed * 7919 + 1)
    true = side_weights(learning.TRUE_WEIGHTS)
    reason_of = {"language": "language", "market": "market", "region": "location"}
    answered = dict.fromkeys(SIDES, 0)
    column = {"sme_view": "sme", "student_view": "student"}
    for _ in range(cycles):
        cycle = cycle_service.run_cycle(trigger="demo")
        if cycle.status != "finished":
            break
        matches = list(
            db.session.scalars(select(Match).where(Match.cycle_id == cycle.id).order_by(Match.id))
        )
        if not matches:
            break
        view = {
            side: [
                sum(true[side][f] * (m.criteria or {}).get(side, {}).get(f, 0.0) for f in FACTORS)
                for m in matches
            ]
            for side in SIDES
        }
        centre = {side: sorted(v)[len(v) // 2] for side, v in view.items()}
        now = utcnow()
        for p, match in enumerate(matches):
            sides = list(SIDES)
            rng.shuffle(sides)
            for side in sides:
                z = 15.0 * (view[side][p] - centre[side])
                if rng.random() < 0.1:
                    decision, reason = "decline", rng.choice(["capacity", "schedule"])
                elif rng.random() < 1.0 / (1.0 + math.exp(-z)):
                    decision, reason = "accept", None
                else:
                    values = (match.criteria or {}).get(side, {})
                    worst = max(FACTORS, key=lambda f: true[side][f] * (1 - values.get(f, 0.0)))
                    decision, reason = "decline", reason_of.get(worst, "not_a_fit")
                setattr(match, f"{column[side]}_decision", decision)
                setattr(match, f"{column[side]}_reason", reason)
                answered[side] += 1
                if decision == "decline":  # a decline closes the proposal: no second answer
                    match.status = MatchStatus.DECLINED
                    break
            else:
                match.status = MatchStatus.APPROVED
            match.updated_at = now
        db.session.commit()
    return answered
