# shellcheck shell=bash
# Test keys and certificates for the DTLS tests (sourced), made with
# openssl in the directory given, never committed: a CA; a server
# certificate for localhost and 127.0.0.1; a client certificate
# (CN=device-1); an expired one; one for another name; one from a CA
# nobody trusts; raw public keys in libcoap's -M form (EC PRIVATE KEY) with
# their SHA-256 pins.
make_keys() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        ca() { # ca NAME CN
            ec "$1.key"
            openssl req -x509 -new -key "$1.key" -out "$1.crt" -subj "/CN=$2" -days 2 2>/dev/null
        }
        leaf() { # leaf NAME CN SAN DAYS CA
            ec "$1.key"
            openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
            printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA "$5.crt" -CAkey "$5.key" -CAcreateserial \
                -out "$1.crt" -days "$4" -extfile "$1.ext" 2>/dev/null
        }
        ca ca "coapgw test CA"
        ca rogue-ca "rogue CA"
        leaf server localhost "DNS:localhost,IP:127.0.0.1" 2 ca
        leaf client device-1 "DNS:device-1" 2 ca
        leaf expired localhost "DNS:localhost,IP:127.0.0.1" -1 ca # notAfter before now
        leaf othername elsewhere "DNS:elsewhere.example" 2 ca
        leaf rogue localhost "DNS:localhost,IP:127.0.0.1" 2 rogue-ca
        leaf rogue-client device-1 "DNS:device-1" 2 rogue-ca
        for k in rpk-server rpk-client rpk-other; do
            ec "$k.key"
            openssl ec -in "$k.key" -out "$k.pem" 2>/dev/null # EC PRIVATE KEY, as libcoap's -M wants
            openssl pkey -in "$k.key" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1 >"$k.sha256"
        done
    )
    [ -s "$d/server.crt" ] && [ -s "$d/expired.crt" ] && [ -s "$d/rpk-client.sha256" ]
}
