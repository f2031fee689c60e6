"""ECDSA P-256 certificates for the reference mTLS chains.

A CA, a server leaf (SAN DNS:server, IP of the server pod, a SPIFFE URI) and a
client leaf (SAN DNS:client, a SPIFFE URI), both with EKU serverAuth,clientAuth,
made with the openssl command line. haproxy wants certificate and key in one PEM
(`server.pem`, `client.pem`); stunnel takes them apart.
"""

import os
import subprocess


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr.strip()}")


def make_certs(directory, server_ip):
    """Writes ca.crt, server.{crt,key,pem}, client.{crt,key,pem} into |directory|."""
    os.makedirs(directory, exist_ok=True)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=directory)
    _openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2", "-subj", "/CN=bench-ca",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-out", "ca.crt", cwd=directory)
    leaves = {
        "server": f"DNS:server,IP:{server_ip},URI:spiffe://cluster.local/ns/bench/sa/server",
        "client": "DNS:client,URI:spiffe://cluster.local/ns/bench/sa/client",
    }
    for name, san in leaves.items():
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=directory)
        _openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-out", f"{name}.csr", cwd=directory)
        ext = os.path.join(directory, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "keyUsage=critical,digitalSignature\n"
                    "basicConstraints=critical,CA:FALSE\n")
        _openssl("x509", "-req", "-sha256", "-days", "2", "-in", f"{name}.csr", "-CA", "ca.crt",
                 "-CAkey", "ca.key", "-CAcreateserial", "-extfile", ext, "-out", f"{name}.crt", cwd=directory)
        with open(os.path.join(directory, f"{name}.pem"), "w") as out:
            for part in (f"{name}.crt", f"{name}.key"):
                with open(os.path.join(directory, part)) as f:
                    out.write(f.read())
    for f in os.listdir(directory):
        os.chmod(os.path.join(directory, f), 0o600)
