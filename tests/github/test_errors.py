"""What each GitHub answer means, table-tested without HTTP (the edge is sans-I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from app.github.errors import (
    GitHubError,
    Malformed,
    MaybeApplied,
    NotFound,
    RateLimited,
    Refused,
    Reply,
    ServerError,
    Unauthorized,
    Unprocessable,
    classify,
)

NOW = 1_700_000_000.0
ISSUE = "/repos/o/r/issues/1"
COMMENTS = "/repos/o/r/issues/1/comments"

CASES: list[tuple[str, str, str, int, dict[str, str], Any, dict[str, Any], type]] = [
    # (id, method, path, status, headers, body, options, expected type)
    ("200 read", "GET", ISSUE, 200, {}, {"number": 1}, {}, Reply),
    ("201 write", "POST", COMMENTS, 201, {}, {"id": 9}, {}, Reply),
    ("204 delete", "DELETE", "/repos/o/r/issues/comments/9", 204, {}, None, {}, Reply),
    ("304 revalidated", "GET", ISSUE, 304, {"etag": '"a"'}, None, {}, Reply),
    ("404 expected", "GET", "/repos/o/r/contents/x", 404, {}, {}, {"ok": (404,)}, Reply),
    (
        "401 installation token",
        "GET",
        ISSUE,
        401,
        {},
        {"message": "Bad credentials"},
        {},
        Unauthorized,
    ),
    (
        "401 app jwt",
        "POST",
        "/app/installations/1/access_tokens",
        401,
        {},
        {"message": "'Expiration time' claim ('exp') is too far in the future"},
        {},
        Unauthorized,
    ),
    (
        "403 secondary limit, retry-after",
        "POST",
        COMMENTS,
        403,
        {"retry-after": "30"},
        {"message": "You have exceeded a secondary rate limit"},
        {},
        RateLimited,
    ),
    (
        "403 secondary limit, message only",
        "POST",
        COMMENTS,
        403,
        {},
        {"message": "You have exceeded a secondary rate limit."},
        {},
        RateLimited,
    ),
    (
        "403 primary exhausted",
        "GET",
        ISSUE,
        403,
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 1800)},
        {"message": "API rate limit exceeded"},
        {},
        RateLimited,
    ),
    (
        "403 permission",
        "PUT",
        "/repos/o/r/contents/a.md",
        403,
        {"x-ratelimit-remaining": "4000"},
        {"message": "Resource not accessible by integration"},
        {},
        Refused,
    ),
    ("404", "GET", ISSUE, 404, {}, {"message": "Not Found"}, {}, NotFound),
    (
        "409",
        "GET",
        "/repos/o/r/git/ref/heads/main",
        409,
        {},
        {"message": "Git Repository is empty."},
        {},
        Refused,
    ),
    (
        "422",
        "POST",
        "/repos/o/r/git/refs",
        422,
        {},
        {"message": "Reference already exists"},
        {},
        Unprocessable,
    ),
    ("429", "GET", ISSUE, 429, {"retry-after": "5"}, {}, {}, RateLimited),
    ("502 on a read", "GET", ISSUE, 502, {}, {}, {}, ServerError),
    ("502 on a post", "POST", COMMENTS, 502, {}, {}, {}, MaybeApplied),
    ("502 on a put (idempotent)", "PUT", "/repos/o/r/contents/a.md", 502, {}, {}, {}, ServerError),
    (
        "502 on a post whose token failed",
        "POST",
        COMMENTS,
        502,
        {},
        {},
        {"token_failed": True},
        ServerError,
    ),
    ("timeout on a read", "GET", ISSUE, 0, {}, None, {}, ServerError),
    ("timeout on a post", "POST", COMMENTS, 0, {}, None, {}, MaybeApplied),
    ("connect error on a post", "POST", COMMENTS, 0, {}, None, {"sent": False}, ServerError),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "headers", "body", "options", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_classify(
    method: str,
    path: str,
    status: int,
    headers: dict[str, str],
    body: Any,
    options: dict[str, Any],
    expected: type,
) -> None:
    result = classify(method, path, status, headers, body, now=NOW, **options)
    assert type(result) is expected
    if isinstance(result, GitHubError):
        assert result.status == status
        assert repr(result) == f"{expected.__name__}({method!r}, {path!r}, {status})"


def test_an_exhausted_primary_limit_waits_until_the_reset() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 1800)}
    result = classify("GET", ISSUE, 403, headers, {}, now=NOW)
    assert isinstance(result, RateLimited) and result.retry_after == 1800


def test_a_secondary_limit_waits_as_long_as_github_says() -> None:
    result = classify("POST", COMMENTS, 403, {"Retry-After": "30"}, {}, now=NOW)
    assert isinstance(result, RateLimited) and result.retry_after == 30


def test_the_app_jwt_and_the_installation_token_are_told_apart() -> None:
    token = classify("GET", ISSUE, 401, {}, {})
    jwt = classify("GET", "/app/installations", 401, {}, {})
    assert isinstance(token, Unauthorized) and not token.app_jwt
    assert isinstance(jwt, Unauthorized) and jwt.app_jwt


def test_a_401_to_the_token_request_is_the_jwts() -> None:
    result = classify("GET", ISSUE, 401, {}, {}, token_failed=True)
    assert isinstance(result, Unauthorized) and result.app_jwt


def test_an_expected_status_is_no_answer_when_the_token_request_failed() -> None:
    # A 404 from the token endpoint is not the 404 the caller allowed for.
    result = classify("GET", "/repos/o/r/contents/x", 404, {}, {}, ok=(404,), token_failed=True)
    assert isinstance(result, Refused)


def test_the_tree_is_what_callers_catch() -> None:
    assert issubclass(MaybeApplied, ServerError)
    assert issubclass(Unprocessable, Refused)
    for kind in (RateLimited, Unauthorized, NotFound, Refused, ServerError, Malformed):
        assert issubclass(kind, GitHubError)
