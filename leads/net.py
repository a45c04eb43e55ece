"""Who is asking: the client's address, with proxies counted explicitly."""
from flask import current_app, request


def client_ip() -> str:
    """The client's IP address.

    X-Forwarded-For is trusted only for as many hops as TRUSTED_PROXIES says;
    otherwise anyone could pick their own address and slip past the rate limits.
    """
    hops = current_app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"
