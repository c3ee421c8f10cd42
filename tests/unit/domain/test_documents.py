"""Document references (sha256:<hex>) and the links a passport may hold: https:// or a stored document."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError as PydanticValidationError

from batteryloop.domain.documents import check_digest, is_ref, ref_from_url, ref_of, url_of
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.passport_data import TestReports

DOC = b"a document"
HEX = hashlib.sha256(DOC).hexdigest()


def test_a_reference_is_the_hash_of_the_bytes_and_becomes_a_url_under_any_base() -> None:
    assert ref_of(DOC) == f"sha256:{HEX}" and is_ref(ref_of(DOC))
    assert url_of(ref_of(DOC), base_url="https://id.example.eu/") == f"https://id.example.eu/documents/{HEX}"
    assert url_of(HEX, base_url="") == f"/documents/{HEX}"
    # imports turn a platform URL back into the reference, whatever the host or path prefix
    for url in (f"http://127.0.0.1:8000/documents/{HEX}", f"https://x.example/bl/documents/{HEX}"):
        assert ref_from_url(url) == ref_of(DOC)
    assert ref_from_url("https://maker.example/manual.pdf") is None
    assert ref_from_url(f"ftp://x/documents/{HEX}") is None
    with pytest.raises(ValidationError, match="sha256: expected 64"):
        check_digest(HEX.upper())
    assert not is_ref(f"sha256:{HEX[:-1]}") and not is_ref(None)


def test_a_passport_link_is_https_or_a_stored_document() -> None:
    assert TestReports(result_of_test_report_url=ref_of(DOC)).result_of_test_report_url == ref_of(DOC)
    assert TestReports(result_of_test_report_url="https://maker.example/r.pdf")
    for bad in ("http://maker.example/r.pdf", "sha256:abc", "javascript:alert(1)", "https://x/ y"):
        with pytest.raises(PydanticValidationError, match="result_of_test_report_url"):
            TestReports(result_of_test_report_url=bad)
