#!/usr/bin/python3
"""jwk.py — turn a PEM key into a JWK / JWKS with nothing but python3 and the openssl CLI.

    tests/tools/jwk.py KEY.pem [--kid KID] [--private]   print {"keys":[<jwk>]}
    tests/tools/jwk.py --thumbprint JWK.json             print the RFC 7638 thumbprint

Used by the end-to-end tests (client JWKS for private_key_jwt, checking the published JWKS
against the PEM files) and handy for operators: `openssl ecparam -name prime256v1 -genkey
-noout -out rp.pem && tests/tools/jwk.py rp.pem > rp.jwks` gives the file for
`gatehouse client add … --auth-method private_key_jwt --jwks rp.jwks`. RSA and EC P-256 only.
"""
import base64
import hashlib
import json
import subprocess
import sys


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def int_bytes(n: int, size: int = 0) -> bytes:
    length = max(size, (n.bit_length() + 7) // 8 or 1)
    return n.to_bytes(length, "big")


def _openssl_text(pem_path: str, public_only: bool) -> str:
    args = ["openssl", "pkey", "-in", pem_path, "-noout"]
    args += ["-text_pub"] if public_only else ["-text"]
    p = subprocess.run(args, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        # maybe a bare public key
        p = subprocess.run(["openssl", "pkey", "-pubin", "-in", pem_path, "-noout", "-text_pub"],
                           capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise ValueError(f"openssl cannot read {pem_path}: {p.stderr.strip()}")
    return p.stdout


def _sections(text: str) -> dict:
    """Split `openssl pkey -text` output into {label: value-text}: a label line starts at
    column 0 and ends in ':' (or is 'label: value'); indented lines continue it."""
    out, label = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            if ":" in line:
                label, _, rest = line.partition(":")
                label = label.strip()
                out[label] = rest.strip()
            else:
                label = None
        elif label is not None:
            out[label] = (out[label] + " " + line.strip()).strip()
    return out


def _hexint(s: str) -> int:
    return int(s.replace(":", "").replace(" ", ""), 16)


def pem_to_jwk(pem_path: str, private: bool = False) -> dict:
    """The JWK of a PEM key: RSA {kty,n,e} or EC P-256 {kty,crv,x,y}; with private=True also
    the private members (d, and p, q, dp, dq, qi for RSA)."""
    text = _openssl_text(pem_path, public_only=not private)
    sec = _sections(text)
    if "Modulus" in sec or "modulus" in sec:
        n = _hexint(sec.get("modulus") or sec.get("Modulus"))
        e_txt = sec.get("publicExponent") or sec.get("Exponent")
        e = int(e_txt.split()[0])
        jwk = {"kty": "RSA", "n": b64url(int_bytes(n)), "e": b64url(int_bytes(e))}
        if private:
            names = {"privateExponent": "d", "prime1": "p", "prime2": "q",
                     "exponent1": "dp", "exponent2": "dq", "coefficient": "qi"}
            for label, member in names.items():
                jwk[member] = b64url(int_bytes(_hexint(sec[label])))
        return jwk
    if "pub" in sec:
        curve = sec.get("ASN1 OID", "") + " " + sec.get("NIST CURVE", "")
        if "prime256v1" not in curve and "P-256" not in curve:
            raise ValueError(f"{pem_path}: only EC P-256 is supported ({curve.strip()})")
        pub = bytes.fromhex(sec["pub"].replace(":", "").replace(" ", ""))
        if len(pub) != 65 or pub[0] != 4:
            raise ValueError(f"{pem_path}: unexpected EC point encoding")
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(pub[1:33]), "y": b64url(pub[33:])}
        if private:
            jwk["d"] = b64url(int_bytes(_hexint(sec["priv"]), 32))
        return jwk
    raise ValueError(f"{pem_path}: not an RSA or EC key")


def thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    if jwk["kty"] == "RSA":
        members = {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}
    elif jwk["kty"] == "EC":
        members = {"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}
    else:
        raise ValueError(f"unsupported kty {jwk['kty']!r}")
    canon = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url(hashlib.sha256(canon).digest())


def main(argv):
    if len(argv) == 3 and argv[1] == "--thumbprint":
        with open(argv[2], encoding="utf-8") as f:
            print(thumbprint(json.load(f)))
        return 0
    args = argv[1:]
    private = "--private" in args
    args = [a for a in args if a != "--private"]
    kid = None
    if "--kid" in args:
        i = args.index("--kid")
        kid = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    jwk = pem_to_jwk(args[0], private=private)
    jwk["kid"] = kid or thumbprint(jwk)
    jwk["use"] = "sig"
    jwk["alg"] = "RS256" if jwk["kty"] == "RSA" else "ES256"
    print(json.dumps({"keys": [jwk]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
