"""Which LLM provider a request is for, and the error body that provider really sends.

Used when a fault answers an HTTP error instead of the recording: the SDKs parse these
bodies, so they must look exactly like the provider's own.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Literal

from chunktape.cassette import Headers, Request

Provider = Literal["gemini", "openai", "anthropic", "bedrock", "ollama", "generic"]

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_GOOGLE_MESSAGE = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
_OPENAI_ERROR = {
    429: ("Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}
_ANTHROPIC_ERROR = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_BEDROCK_ERROR = {  # the exception names boto3's bedrock-runtime client raises
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}
_BEDROCK_MESSAGE = {429: "Too many requests, please wait before trying again."}
_BEDROCK_PATH = ("/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream")
RETRY_AFTER_S = 1


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _REASONS.get(status, "Error" if status >= 400 else "OK")


def provider_of(request: Request) -> Provider:
    host = request.url.split("/")[2] if "://" in request.url else ""
    path = request.path
    if "googleapis.com" in host or ":streamGenerateContent" in path or ":generateContent" in path:
        return "gemini"
    if "anthropic.com" in host or path.endswith("/v1/messages") or request.header("anthropic-version"):
        return "anthropic"
    if "openai.com" in host or path.endswith(("/chat/completions", "/responses", "/completions", "/embeddings")):
        return "openai"
    if "bedrock-runtime" in host or (path.startswith("/model/") and path.endswith(_BEDROCK_PATH)):
        return "bedrock"
    if path.startswith("/api/") and path.endswith(("/api/chat", "/api/generate", "/api/embed")):
        return "ollama"
    return "generic"


def error_response(request: Request, status: int) -> tuple[Headers, bytes]:
    """Response headers and JSON body for `status`, shaped like the request's provider."""
    provider = provider_of(request)
    body: object
    if provider == "gemini":
        body = {
            "error": {
                "code": status,
                "message": _GOOGLE_MESSAGE.get(status, reason_phrase(status)),
                "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }
        text = json.dumps(body, indent=2) + "\n"
    elif provider == "openai":
        message, kind, code = _OPENAI_ERROR.get(status, (reason_phrase(status), "server_error", None))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        text = json.dumps(body, indent=2) + "\n"
    elif provider == "anthropic":
        kind = _ANTHROPIC_ERROR.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": reason_phrase(status)}}
        text = json.dumps(body, separators=(",", ":"))
    elif provider == "bedrock":
        text = json.dumps({"message": _BEDROCK_MESSAGE.get(status, reason_phrase(status))}, separators=(",", ":"))
    elif provider == "ollama":
        text = json.dumps({"error": reason_phrase(status).lower()}, separators=(",", ":"))
    else:
        text = json.dumps({"error": {"code": status, "message": reason_phrase(status)}})
    data = text.encode("utf-8")
    headers: list[tuple[str, str]] = [
        ("content-type", "application/json; charset=UTF-8" if provider == "gemini" else "application/json"),
        ("content-length", str(len(data))),
    ]
    if provider == "bedrock":
        kind = _BEDROCK_ERROR.get(status, "InternalServerException")
        headers.append(("x-amzn-errortype", f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"))
    if status in (429, 503, 529):
        headers.append(("retry-after", str(RETRY_AFTER_S)))
    if provider == "anthropic":
        headers.append(("x-should-retry", "true" if status >= 429 else "false"))
    return tuple(headers), data
