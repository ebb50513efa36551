"""OLLAMA_HOST parsing against Go's envconfig.Host() table (Ollama's envconfig/config_test.go)."""

import pytest

from ollama_tui.ollama.host import parse_ollama_host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # The rows of Ollama's table of OLLAMA_HOST values, with Go's result.
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        ("1.2.3.4:1234", "http://1.2.3.4:1234"),
        ("example.com", "http://example.com:11434"),
        ("http://1.2.3.4", "http://1.2.3.4:80"),
        ("https://1.2.3.4", "https://1.2.3.4:443"),
        ("https://example.com/ollama", "https://example.com:443/ollama"),
        ("[::1]", "http://[::1]:11434"),
        ("::1", "http://[::1]:11434"),
        ('" 1.2.3.4 "', "http://1.2.3.4:11434"),
        ("ollama.com", "https://ollama.com:443"),
        # The rest of Go's TestHost table.
        ("example.com:1234", "http://example.com:1234"),
        ("[::1]:1337", "http://[::1]:1337"),
        (" 1.2.3.4 ", "http://1.2.3.4:11434"),
        ('"1.2.3.4"', "http://1.2.3.4:11434"),
        (' " 1.2.3.4 " ', "http://1.2.3.4:11434"),
        ("'1.2.3.4'", "http://1.2.3.4:11434"),
        ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
        ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
        # Trailing slashes go; a path keeps Go's escaping.
        ("https://example.com/ollama/", "https://example.com:443/ollama"),
        ("http://1.2.3.4/", "http://1.2.3.4:80"),
        ("https://example.com/a b/c", "https://example.com:443/a%20b/c"),
        # Go's ip.String(): canonical IPv6, IPv4-mapped addresses as IPv4.
        ("0:0:0:0:0:0:0:1", "http://[::1]:11434"),
        ("::ffff:1.2.3.4", "http://1.2.3.4:11434"),
        ("[::ffff:1.2.3.4]", "http://1.2.3.4:11434"),
    ],
)
def test_matches_go_envconfig_host(value: str | None, expected: str) -> None:
    assert parse_ollama_host(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # An empty host means local; Go leaves it empty, which no HTTP client can connect to.
        (":1234", "http://127.0.0.1:1234"),  # Go: http://:1234
        (":0", "http://127.0.0.1:0"),  # Go: http://:0
        (":66000", "http://127.0.0.1:11434"),  # Go: http://:11434
        (":-1", "http://127.0.0.1:11434"),  # Go: http://:11434
        # Bind-all addresses become loopback, as in Ollama's ConnectableHost().
        ("0.0.0.0", "http://127.0.0.1:11434"),  # Go: http://0.0.0.0:11434
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),  # Go: http://0.0.0.0:8080
        ("[::]", "http://[::1]:11434"),  # Go: http://[::]:11434
        ("::", "http://[::1]:11434"),  # Go: http://[::]:11434
        ("[::]:1337", "http://[::1]:1337"),  # Go: http://[::]:1337
        # A signed port is refused and the default used; Go would keep "+80" in the URL.
        ("example.com:+80", "http://example.com:11434"),  # Go: http://example.com:+80
    ],
)
def test_connectable_where_go_is_not(value: str, expected: str) -> None:
    assert parse_ollama_host(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ftp://example.com", 'unsupported scheme "ftp"; use http or https'),
        ("HTTP://example.com", 'unsupported scheme "HTTP"; use http or https'),
        ("my host", 'invalid host name "my host"'),
        ("user@example.com:1234", 'invalid host name "user@example.com"'),
        ("1.2.3.4:1:2", 'invalid address "1.2.3.4:1:2"'),
        ("fe80::1%eth0", 'invalid address "fe80::1%eth0"'),
    ],
)
def test_unusable_values_raise(value: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_ollama_host(value)
    assert str(caught.value) == reason
