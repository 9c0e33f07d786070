"""Every rule in app.schemas, with inputs that pass and inputs that must fail (no database).

The forms and the JSON API both go through these models (via app.services.validation.validate),
so a rule tested here holds wherever the data comes from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kexport_support import PASSWORD, sme_data, student_data
from werkzeug.security import check_password_hash
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app import create_app, schemas
from app.services.errors import InvalidInput
from app.services.validation import validate

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fields_of(error: InvalidInput) -> set[str]:
    return set(error.fields)


def types_of(error: InvalidInput, field: str) -> set[str]:
    return {e["type"] for e in error.fields.get(field, [])}


def student(**overrides: Any) -> schemas.StudentSignup:
    return validate(schemas.StudentSignup, student_data(**overrides))


def sme(**overrides: Any) -> schemas.SMESignup:
    return validate(schemas.SMESignup, sme_data(**overrides))


def student_fails(field: str, **overrides: Any) -> InvalidInput:
    """The student sign-up fails, and names `field` (only that field)."""
    with pytest.raises(InvalidInput) as info:
        student(**overrides)
    assert fields_of(info.value) == {field}, info.value.fields
    return info.value


def sme_fails(field: str, **overrides: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        sme(**overrides)
    assert fields_of(info.value) == {field}, info.value.fields
    return info.value


def test_the_reference_data_is_valid() -> None:
    # Everything below changes one field of these; if they failed, every "fails" test would lie.
    assert student().email == "linh@example.org"
    assert sme().business_number == "2208162517"


# --- business registration number -----------------------------------------------------------------


def check_digit(nine: list[int]) -> int:
    """The NTS check digit, computed independently of the app's code."""
    weights = [1, 3, 7, 1, 3, 7, 1, 3, 5]
    total = sum(w * d for w, d in zip(weights, nine, strict=True)) + (5 * nine[8]) // 10
    return (10 - total % 10) % 10


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("220-81-62517", "2208162517"),
        ("2208162517", "2208162517"),
        ("124-81-00998", "1248100998"),
        ("1248100998", "1248100998"),
        ("  124-81-00998 ", "1248100998"),  # surrounding spaces are not part of the number
        ("22081-62517", "2208162517"),  # dashes are optional, each one
    ],
)
def test_valid_business_numbers_are_accepted_and_stored_as_digits(
    written: str, digits: str
) -> None:
    assert sme(business_number=written).business_number == digits


@pytest.mark.parametrize("base", ["220-81-6251", "124-81-0099"])
@pytest.mark.parametrize("dashes", [True, False])
def test_every_other_last_digit_is_refused(base: str, dashes: bool) -> None:
    good = {"220-81-6251": 7, "124-81-0099": 8}[base]
    for last in range(10):
        if last == good:
            continue
        number = f"{base}{last}" if dashes else f"{base}{last}".replace("-", "")
        error = sme_fails("business_number", business_number=number)
        assert types_of(error, "business_number") == {"business_number"}


@pytest.mark.parametrize(
    "number",
    [
        "220-81-6251A",  # a letter
        "22O-81-62517",  # a letter O for a zero
        "220-81-6251",  # 9 digits
        "220816251",
        "220-81-625170",  # 11 digits
        "22081625170",
        "２２０-８１-６２５１７",  # full-width digits (str.isdigit() says yes to these)
        "２２０８１６２５１７",
        "٢٢٠٨١٦٢٥١٧",  # Arabic-Indic digits
        "220 81 62517",
        "220--81-62517",
        "2208-1-62517",
        "220-81-62517\n1",
        "",
        "----------",
    ],
)
def test_malformed_business_numbers_are_refused(number: str) -> None:
    error = sme_fails("business_number", business_number=number)
    assert types_of(error, "business_number") <= {"business_number_format", "business_number"}


@pytest.mark.parametrize("value", [None, 2.208162517e9, ["2208162517"], {"n": 1}, True])
def test_business_numbers_of_other_types_are_refused(value: Any) -> None:
    sme_fails("business_number", business_number=value)


def test_business_number_is_required() -> None:
    data = sme_data()
    del data["business_number"]
    with pytest.raises(InvalidInput) as info:
        validate(schemas.SMESignup, data)
    assert fields_of(info.value) == {"business_number"}


@FAST
@given(
    nine=st.lists(st.integers(0, 9), min_size=9, max_size=9),
    dashes=st.booleans(),
)
def test_generated_valid_business_numbers_always_pass(nine: list[int], dashes: bool) -> None:
    digits = "".join(map(str, nine)) + str(check_digit(nine))
    written = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" if dashes else digits
    assert schemas.business_number_is_valid(digits)
    assert validate(
        schemas.SMERegistrationIn, sme_data(business_number=written)
    ).business_number == (digits)


@FAST
@given(
    nine=st.lists(st.integers(0, 9), min_size=9, max_size=9),
    wrong=st.integers(1, 9),
)
def test_generated_numbers_with_a_wrong_check_digit_always_fail(
    nine: list[int], wrong: int
) -> None:
    digits = "".join(map(str, nine)) + str((check_digit(nine) + wrong) % 10)
    assert not schemas.business_number_is_valid(digits)
    with pytest.raises(InvalidInput) as info:
        validate(schemas.SMERegistrationIn, sme_data(business_number=digits))
    assert fields_of(info.value) == {"business_number"}


# --- codes: languages, countries, taxonomy --------------------------------------------------------


@pytest.mark.parametrize(("code", "stored"), [("vi", "vi"), ("EN", "en"), (" Zh ", "zh")])
def test_iso_639_1_languages_are_accepted_lower_cased(code: str, stored: str) -> None:
    form = student(languages=[{"code": code, "level": "native"}])
    assert [skill.code for skill in form.languages] == [stored]
    assert sme(languages_needed=[code]).languages_needed == [stored]


@pytest.mark.parametrize("code", ["vie", "eng", "xx", "qq", "", "v", "en-US", "en_GB", "zh-Hans"])
def test_other_language_codes_are_refused(code: str) -> None:
    error = student_fails("languages.0.code", languages=[{"code": code, "level": "native"}])
    assert types_of(error, "languages.0.code") == {"unknown_code"}
    sme_fails("languages_needed.0", languages_needed=[code])


@pytest.mark.parametrize("level", ["native", "fluent", "business", "conversational", "basic"])
def test_language_levels(level: str) -> None:
    form = student(languages=[{"code": "vi", "level": level.upper()}])
    assert form.languages[0].level == level


@pytest.mark.parametrize("level", ["expert", "", "c2", "5"])
def test_unknown_language_levels_are_refused(level: str) -> None:
    student_fails("languages.0.level", languages=[{"code": "vi", "level": level}])


@pytest.mark.parametrize(
    ("code", "stored"), [("VN", "VN"), ("vn", "VN"), ("Vn", "VN"), (" us ", "US"), ("kr", "KR")]
)
def test_iso_3166_countries_are_normalised_to_upper_case(code: str, stored: str) -> None:
    assert student(nationality=code).nationality == stored
    assert student(markets=[code]).markets == [stored]
    assert sme(markets=[code]).markets == [stored]


@pytest.mark.parametrize("code", ["VNM", "UK", "XX", "EU", "", "V", "704", "V N"])
def test_other_country_codes_are_refused(code: str) -> None:
    error = student_fails("nationality", nationality=code)
    assert types_of(error, "nationality") == {"unknown_code"}
    student_fails("markets.0", markets=[code])
    sme_fails("markets.0", markets=[code])


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("industries", "cosmetics", "cosmetic"),
        ("industries", "Processed_Food", "food"),
        ("regions", "seoul", "tokyo"),
        ("regions", "JEJU", "jeju-do"),
    ],
)
def test_student_taxonomy_codes(field: str, good: str, bad: str) -> None:
    assert student(**{field: [good]}).model_dump()[field] == [good.lower()]
    student_fails(f"{field}.0", **{field: [bad]})


@pytest.mark.parametrize(("good", "bad"), [("d2", "D-2"), ("E7", "e-7"), ("other", "h2")])
def test_visa_types(good: str, bad: str) -> None:
    assert student(visa=good).visa == good.lower()
    student_fails("visa", visa=bad)


def test_sme_region_and_industries() -> None:
    form = sme(region="Busan", industries=["machinery", "AUTO_PARTS"])
    assert (form.region, form.industries) == ("busan", ["machinery", "auto_parts"])
    sme_fails("region", region="osaka")
    sme_fails("industries.0", industries=["widgets"])


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("markets", ["VN", "VN"]),
        ("markets", ["VN", "vn"]),  # the same code once normalised
        ("industries", ["cosmetics", "cosmetics"]),
        ("regions", ["seoul", "SEOUL"]),
    ],
)
def test_duplicate_codes_are_refused(field: str, values: list[str]) -> None:
    error = student_fails(field, **{field: values})
    assert types_of(error, field) == {"duplicates"}


def test_duplicate_languages_are_refused_even_with_different_levels() -> None:
    error = student_fails(
        "languages",
        languages=[{"code": "vi", "level": "native"}, {"code": "VI", "level": "basic"}],
    )
    assert types_of(error, "languages") == {"duplicates"}
    sme_fails("languages_needed", languages_needed=["vi", "vi"])
    sme_fails("industries", industries=["cosmetics", "cosmetics"])


@pytest.mark.parametrize(
    ("field", "lowest", "highest"),
    [("markets", 1, 10), ("industries", 1, 8), ("regions", 1, 17), ("languages", 1, 8)],
)
def test_student_list_sizes(field: str, lowest: int, highest: int) -> None:
    pools = {
        "markets": ["VN", "TH", "US", "JP", "CN", "ID", "MY", "PH", "IN", "DE", "FR"],
        "industries": [t.code for t in schemas.taxonomy.INDUSTRIES],
        "regions": [t.code for t in schemas.taxonomy.REGIONS],
        "languages": [
            {"code": c, "level": "basic"}
            for c in ["vi", "en", "ko", "ja", "zh", "fr", "de", "es", "ru"]
        ],
    }
    pool = pools[field]
    assert len(getattr(student(**{field: pool[:highest]}), field)) == highest
    student_fails(field, **{field: []})
    if len(pool) > highest:
        student_fails(field, **{field: pool[: highest + 1]})


def test_sme_list_sizes() -> None:
    assert sme(languages_needed=[]).languages_needed == []
    sme_fails("industries", industries=[])
    sme_fails("markets", markets=[])
    industries = [t.code for t in schemas.taxonomy.INDUSTRIES]
    assert len(sme(industries=industries[:5]).industries) == 5
    sme_fails("industries", industries=industries[:6])


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "lowest", "highest"), [("topik_level", 0, 6), ("hours_per_week", 1, 40)]
)
def test_student_number_ranges(field: str, lowest: int, highest: int) -> None:
    for good in (lowest, highest, str(highest), f" {lowest} "):
        assert getattr(student(**{field: good}), field) == int(str(good).strip())
    for bad in (lowest - 1, highest + 1, "ten", "", "3.5", 3.5, None, 10**30):
        student_fails(field, **{field: bad})


@pytest.mark.parametrize(("field", "lowest", "highest"), [("capacity", 1, 20), ("min_topik", 0, 6)])
def test_sme_number_ranges(field: str, lowest: int, highest: int) -> None:
    for good in (lowest, highest, str(lowest)):
        assert getattr(sme(**{field: good}), field) == int(good)
    for bad in (lowest - 1, highest + 1, "many", "2.5", None, -(10**30)):
        sme_fails(field, **{field: bad})


def test_topik_defaults_to_zero() -> None:
    data = student_data()
    del data["topik_level"]
    assert validate(schemas.StudentSignup, data).topik_level == 0


# --- text -----------------------------------------------------------------------------------------

STUDENT_TEXT = [("name", 100, 1), ("university", 120, 1), ("major", 120, 1), ("bio", 2000, 0)]
SME_TEXT = [
    ("contact_name", 100, 1),
    # Each language of a bilingual text: blank is "not given" (the pair's rule is tested below).
    ("company_name_ko", 120, 0),
    ("company_name_en", 120, 0),
    ("products_ko", 1000, 0),
    ("products_en", 1000, 0),
    ("description_ko", 2000, 0),
    ("description_en", 2000, 0),
]


@pytest.mark.parametrize(("field", "longest", "shortest"), STUDENT_TEXT)
def test_student_text_lengths(field: str, longest: int, shortest: int) -> None:
    assert getattr(student(**{field: "가" * longest}), field) == "가" * longest
    error = student_fails(field, **{field: "a" * (longest + 1)})
    assert types_of(error, field) == {"string_too_long"}
    if shortest:
        for blank in ("", "   ", "\n\t"):
            error = student_fails(field, **{field: blank})
            # A text's own error ("This field is required."), not a list's ("Choose at least 1.").
            assert types_of(error, field) == {"string_too_short"}
    else:
        assert getattr(student(**{field: "  "}), field) == ""


@pytest.mark.parametrize(("field", "longest", "shortest"), SME_TEXT)
def test_sme_text_lengths(field: str, longest: int, shortest: int) -> None:
    assert getattr(sme(**{field: "x" * longest}), field) == "x" * longest
    error = sme_fails(field, **{field: "x" * (longest + 1)})
    assert types_of(error, field) == {"string_too_long"}
    if shortest:
        error = sme_fails(field, **{field: "  "})
        assert types_of(error, field) == {"string_too_short"}
    else:
        base, lang = field.rsplit("_", 1)
        other = f"{base}_{'en' if lang == 'ko' else 'ko'}"
        assert getattr(sme(**{base: None, other: "x", field: "  "}), field) is None


@pytest.mark.parametrize("field", ["company_name", "products"])
def test_sme_texts_need_one_language_of_two(field: str) -> None:
    """Issue 13 item 4: Korean, English or both; neither is refused, naming the pair."""
    assert getattr(sme(**{field: None, f"{field}_ko": "한빛"}), f"{field}_ko") == "한빛"
    only_en = sme(**{field: None, f"{field}_en": "Hanbit"})
    assert getattr(only_en, f"{field}_en") == "Hanbit"
    assert getattr(only_en, f"{field}_ko") is None
    for blank in (None, "", "   "):
        error = sme_fails(f"{field}_en", **{field: blank, f"{field}_ko": blank})
        assert types_of(error, f"{field}_en") == {"one_language_required"}
    # A Korean text that is itself wrong is reported on its own field, not as "missing".
    sme_fails(f"{field}_ko", **{field: None, f"{field}_ko": "x\x00"})


def test_one_language_fields_of_the_first_api_go_by_script() -> None:
    """`company_name`, `products`, `description` (the contract's fields) keep working: Hangul
    goes to the Korean field, other letters to the English one; explicit fields win."""
    form = sme(company_name="한빛코스메틱", products="Sunscreen, masks", description="")
    assert (form.company_name_ko, form.company_name_en) == ("한빛코스메틱", None)
    assert (form.products_ko, form.products_en) == (None, "Sunscreen, masks")
    assert (form.description_ko, form.description_en) == (None, None)
    form = sme(company_name="Ignored", company_name_ko="한빛", company_name_en="")
    assert (form.company_name_ko, form.company_name_en) == ("한빛", None)


def test_text_is_stripped_and_nfc_normalised() -> None:
    decomposed = "Nguye\u0302\u0303n"  # e + combining circumflex + combining tilde
    form = student(name=f"  {decomposed}  ")
    assert form.name == "Nguyễn"
    assert form.name == "Nguy\u1ec5n"


@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\x07bell", "esc\x1b[31m", "\x7f", "x\x85y"])
@pytest.mark.parametrize("field", ["name", "university", "major", "bio"])
def test_control_characters_are_refused(field: str, bad: str) -> None:
    error = student_fails(field, **{field: bad})
    assert types_of(error, field) == {"control_chars"}


@pytest.mark.parametrize(
    "field", ["contact_name", "company_name_ko", "company_name_en", "products_ko", "description_en"]
)
def test_nul_is_refused_in_sme_text(field: str) -> None:
    sme_fails(field, **{field: "한빛\x00코스메틱"})


@pytest.mark.parametrize("field", ["name", "bio", "email", "nationality"])
def test_lone_surrogates_are_refused(field: str) -> None:
    # json.loads("\"\\ud800\"") produces one; no database can store it (a 500 if it got there).
    student_fails(field, **{field: "Linh \ud800"})


def test_line_breaks_and_tabs_are_allowed_in_long_text() -> None:
    assert student(bio="line one\r\nline two\tend").bio == "line one\r\nline two\tend"
    assert sme(description="첫 줄\n둘째 줄").description_ko == "첫 줄\n둘째 줄"


def test_text_of_the_wrong_type_is_refused() -> None:
    student_fails("name", name=123)
    student_fails("name", name=["Linh"])
    student_fails("name", name=None)


# --- dates ----------------------------------------------------------------------------------------


def test_availability_period_must_be_in_order() -> None:
    form = student(available_from="2026-03-01", available_until="2026-08-31")
    assert (form.available_from, form.available_until) == (date(2026, 3, 1), date(2026, 8, 31))
    assert student(available_from="2026-03-01", available_until="2026-03-01").available_until
    assert student(available_from="2026-03-01").available_until is None
    assert student(available_until="2026-03-01").available_from is None
    with pytest.raises(InvalidInput) as info:
        student(available_from="2026-03-02", available_until="2026-03-01")
    assert "period_order" in {e["type"] for errors in info.value.fields.values() for e in errors}


@pytest.mark.parametrize("bad", ["2026-02-30", "yesterday", "01/03/2026", "2026-13-01"])
def test_bad_dates_are_refused(bad: str) -> None:
    student_fails("available_from", available_from=bad)


# --- email ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Linh@Example.ORG", "linh@example.org"),
        ("  linh@example.org ", "linh@example.org"),
        ("LINH.NGUYEN+kexport@Uni.AC.KR", "linh.nguyen+kexport@uni.ac.kr"),
    ],
)
def test_email_is_checked_and_lower_cased(written: str, stored: str) -> None:
    assert student(email=written).email == stored
    assert sme(email=written).email == stored
    assert validate(schemas.Credentials, {"email": written, "password": "x"}).email == stored


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "linh",
        "linh@",
        "@example.org",
        "linh@@example.org",
        "linh example@example.org",
        "linh@example..org",
        "linh@exa mple.org",
        "linh\x00@example.org",
        "a" * 250 + "@example.org",
        None,
        42,
    ],
)
def test_bad_emails_are_refused(bad: Any) -> None:
    error = student_fails("email", email=bad)
    assert error.fields["email"]
    with pytest.raises(InvalidInput):
        validate(schemas.Credentials, {"email": bad, "password": "x"})


# --- passwords ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_app() -> Any:
    """An application context for hashing with the configured KDF (no database is touched)."""
    app = create_app({"TESTING": True})
    with app.app_context():
        yield app


def password_fails(password: Any, kind: str | None = None) -> None:
    with pytest.raises(InvalidInput) as info:
        student(password=password)
    assert fields_of(info.value) == {"password"}
    if kind:
        assert types_of(info.value, "password") == {kind}
    with pytest.raises(InvalidInput):
        validate(schemas.PasswordChange, {"current_password": "x", "new_password": password})


def test_password_lengths() -> None:
    for good in ("kq8#Lz2!", "x" * 1024, "가나다라마바사아"):  # 8 characters, whatever their bytes
        assert student(password=good).password == good
    password_fails("kq8#Lz2", "password_short")
    password_fails("가나다라마바사", "password_short")
    password_fails("x" * 1025)
    password_fails("")
    password_fails(None)


def test_password_is_kept_exactly_as_typed() -> None:
    # No stripping, no normalisation: the KDF gets what the person typed.
    typed = "  spaces around me  "
    assert student(password=typed).password == typed
    decomposed = "cafe\u0301 au lait forever"
    assert student(password=decomposed).password == decomposed


COMMON = ["password", "iloveyou", "sunshine", "princess", "12345678", "football", "trustno1"]


@pytest.mark.parametrize("common", COMMON)
def test_common_passwords_are_refused_whatever_the_case(common: str) -> None:
    assert common in FREQUENCY_LISTS["passwords"]  # the bundled list, checked offline
    for variant in (common, common.upper(), common.capitalize(), common.swapcase()):
        password_fails(variant, "password_common")


@FAST
@given(
    st.sampled_from([p for p in FREQUENCY_LISTS["passwords"] if len(p) >= 8]).flatmap(
        lambda p: st.lists(st.booleans(), min_size=len(p), max_size=len(p)).map(
            lambda flips: "".join(c.upper() if f else c for c, f in zip(p, flips, strict=True))
        )
    )
)
def test_any_common_password_in_any_case_is_refused(password: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate(schemas.NewCredentials, {"email": "a@example.org", "password": password})
    assert types_of(info.value, "password") == {"password_common"}


def test_login_credentials_accept_any_password_up_to_the_limit() -> None:
    # Logging in must not apply the sign-up rules (an old short password still logs in).
    assert validate(schemas.Credentials, {"email": "a@b.org", "password": "short"}).password
    with pytest.raises(InvalidInput):
        validate(schemas.Credentials, {"email": "a@b.org", "password": ""})
    with pytest.raises(InvalidInput):
        validate(schemas.Credentials, {"email": "a@b.org", "password": "x" * 1025})


def test_long_unicode_passphrase_is_accepted_and_not_truncated(bare_app: Any) -> None:
    from app.services.accounts import hash_password

    passphrase = "비밀번호는정말길고안전해야합니다🙂" * 5
    assert len(passphrase.encode()) > 200  # far past bcrypt's 72-byte truncation
    form = student(password=passphrase)
    assert form.password == passphrase

    hashed = hash_password(form.password)
    assert hashed.startswith("scrypt:")
    assert check_password_hash(hashed, passphrase)
    encoded = passphrase.encode()
    for shorter in (
        passphrase[:-1],
        encoded[:72].decode(errors="ignore"),
        encoded[:1000].decode(errors="ignore")[: len(passphrase) - 1],
        passphrase[: len(passphrase) // 5],
        passphrase + "!",
    ):
        assert not check_password_hash(hashed, shorter), shorter[-5:]


# --- consent and mass assignment ------------------------------------------------------------------


def test_consent_to_collection_is_required() -> None:
    for consent in (
        {"collection": False, "provision_to_smes": True},
        {"provision_to_smes": True},
        {},
        None,
        "yes",
    ):
        with pytest.raises(InvalidInput) as info:
            student(consent=consent)
        assert all(field.startswith("consent") for field in info.value.fields)
    data = student_data()
    del data["consent"]
    with pytest.raises(InvalidInput):
        validate(schemas.StudentSignup, data)


def test_consent_to_provision_is_separate_and_defaults_to_no() -> None:
    assert student(consent={"collection": True}).consent.provision_to_smes is False
    assert student(consent={"collection": True, "provision_to_smes": False}).consent
    assert sme(consent={"collection": True, "provision_to_smes": True}).consent.provision_to_smes


EXTRA = {
    "role": "coordinator",
    "status": "approved",
    "approved": True,
    "is_admin": True,
    "id": 1,
    "user_id": 2,
    "student_id": 3,
    "session_token": "x",
    "password_hash": "scrypt:...",
    "paused": True,
    "cv_stored_name": "../../etc/passwd",
}


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (schemas.StudentSignup, student_data),
        (schemas.SMESignup, sme_data),
        (schemas.StudentProfileIn, student_data),
        (schemas.SMEProfileIn, sme_data),
    ],
)
def test_extra_keys_are_ignored(model: Any, data: Any) -> None:
    form = validate(model, data(**EXTRA))
    dumped = form.model_dump()
    for key in EXTRA:
        assert key not in dumped
        assert not hasattr(form, key)
    assert form == validate(model, data())


# --- properties: nothing but InvalidInput ever comes out ------------------------------------------

MODELS = [
    schemas.StudentSignup,
    schemas.SMESignup,
    schemas.StudentProfileIn,
    schemas.SMEProfileIn,
    schemas.SMERegistrationIn,
    schemas.Credentials,
    schemas.NewCredentials,
    schemas.PasswordChange,
    schemas.ConsentIn,
    schemas.LanguageSkill,
]
FIELD_NAMES = sorted({name for model in MODELS for name in model.model_fields} | set(EXTRA))

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**5000), max_value=10**5000)
    | st.floats()
    | st.text()
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30)
    | st.binary(max_size=20)
    | st.dates().map(str)
    | st.sampled_from(
        ["VN", "vi", "native", "cosmetics", "seoul", "d2", "220-81-62517", "a@b.org", "y", "on"]
    )
    | st.integers(0, 12_000).map(lambda n: "x" * n)
)


def _nested(children: Any) -> Any:
    return st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=4
    )


values = st.recursive(leaves, _nested, max_leaves=12)
random_dicts = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=12), values, max_size=16
)


def mutated(base: dict[str, Any]) -> Any:
    """A valid body with some fields replaced by anything and some removed."""
    return st.tuples(
        st.dictionaries(st.sampled_from(sorted(base)), values, max_size=4),
        st.sets(st.sampled_from(sorted(base)), max_size=3),
    ).map(lambda change: {k: v for k, v in {**base, **change[0]}.items() if k not in change[1]})


def only_invalid_input(model: Any, data: Any) -> None:
    """Validation either succeeds or raises InvalidInput naming fields; nothing else escapes."""
    error: InvalidInput | None = None
    try:
        result = validate(model, data)
    except InvalidInput as raised:
        error = raised
    if error is None:
        assert isinstance(result, model)
        return
    assert error.fields
    for field, errors in error.fields.items():
        assert isinstance(field, str)
        assert all("type" in e for e in errors)


@settings(deadline=None, max_examples=150, suppress_health_check=list(HealthCheck))
@given(model=st.sampled_from(MODELS), data=random_dicts | values)
def test_arbitrary_input_only_ever_raises_invalid_input(model: Any, data: Any) -> None:
    only_invalid_input(model, data)


@settings(deadline=None, max_examples=150, suppress_health_check=list(HealthCheck))
@given(
    pair=st.sampled_from(
        [
            (schemas.StudentSignup, student_data()),
            (schemas.SMESignup, sme_data()),
            (schemas.StudentProfileIn, student_data()),
            (schemas.SMEProfileIn, sme_data()),
            (schemas.PasswordChange, {"current_password": PASSWORD, "new_password": PASSWORD}),
        ]
    ).flatmap(lambda pair: st.tuples(st.just(pair[0]), mutated(pair[1])))
)
def test_mutated_valid_input_only_ever_raises_invalid_input(pair: tuple[Any, Any]) -> None:
    only_invalid_input(*pair)


@FAST
@given(st.text())
def test_arbitrary_text_in_any_field_only_ever_raises_invalid_input(text: str) -> None:
    for field in ("name", "nationality", "email", "visa", "bio", "topik_level", "password"):
        only_invalid_input(schemas.StudentSignup, student_data(**{field: text}))
    for field in ("business_number", "region", "capacity", "products"):
        only_invalid_input(schemas.SMESignup, sme_data(**{field: text}))
    only_invalid_input(
        schemas.StudentSignup, student_data(languages=[{"code": text, "level": text}])
    )
    only_invalid_input(schemas.StudentSignup, student_data(markets=[text]))
