"""
pki.py — a certificate authority for the TLS tests, made with the openssl command in a
directory the test gives: server certificates (one per SNI name, a renewed one, an expired
one), client certificates from it and from a CA nobody trusts.
"""
from __future__ import annotations

import subprocess
from pathlib import Path


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def issue(ca: Path, name: str, cn: str, *, san: str | None = None, client: bool = False) -> tuple[Path, Path]:
    """A key and a certificate for `cn`, signed by the CA in `ca`, valid for two days."""
    key, csr, cert, ext = ca / f"{name}.key", ca / f"{name}.csr", ca / f"{name}.pem", ca / f"{name}.ext"
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.name,
            "-out", csr.name, "-subj", f"/O=NaviosWS tests/CN={cn}", cwd=ca)
    ext.write_text(f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}\n" +
                   (f"subjectAltName={san}\n" if san else ""))
    openssl("x509", "-req", "-in", csr.name, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", cert.name, "-extfile", ext.name, "-days", "2", cwd=ca)
    return cert, key


def issue_expired(ca: Path) -> tuple[Path, Path]:
    """A server certificate for localhost, signed by the CA, valid in 2000 only (openssl ca sets
    the dates)."""
    (ca / "index.txt").write_text("")
    (ca / "serial").write_text("1000\n")
    (ca / "ca.cnf").write_text("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\n"
                               "serial = serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n"
                               "[p]\ncommonName = supplied\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "expired.key",
            "-out", "expired.csr", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            cwd=ca)
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "expired.csr",
            "-out", "expired.pem", "-startdate", "20000101000000Z", "-enddate", "20010101000000Z", "-notext", cwd=ca)
    return ca / "expired.pem", ca / "expired.key"


def make_ca(root: Path, name: str) -> Path:
    ca = root / name
    ca.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", f"/CN={name}", cwd=ca)
    return ca


def make_pki(root: Path) -> dict:
    """A CA with a server certificate for localhost and 127.0.0.1, one for other.test and
    *.wild.test (SNI), a renewed one for localhost, an expired one, a client certificate; and
    another CA with its own client certificate. Values: paths, or (certificate, key) pairs."""
    ca = make_ca(root, "ca")
    other_ca = make_ca(root, "other-ca")
    out = {"ca": ca / "ca.pem", "other_ca": other_ca / "ca.pem"}
    out["server"] = issue(ca, "server", "localhost", san="DNS:localhost,IP:127.0.0.1")
    out["sni"] = issue(ca, "sni", "other.test", san="DNS:other.test,DNS:*.wild.test")
    out["renewed"] = issue(ca, "renewed", "localhost renewed", san="DNS:localhost,IP:127.0.0.1")
    out["client"] = issue(ca, "client", "alice", client=True)
    out["stranger"] = issue(other_ca, "stranger", "mallory", client=True)
    out["expired"] = issue_expired(ca)
    return out
