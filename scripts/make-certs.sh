#!/usr/bin/env bash
# Makes the TLS material of a cluster: a cluster CA and, for each node named, a key and a
# certificate signed by that CA (its subjectAltName DNS entry and common name are the node's
# name, which a node dialling it checks). Into DIR:
#   ca.crt, ca.key          the cluster CA (keep ca.key off the nodes)
#   NAME.crt, NAME.key      one pair per node
# The configuration then says:
#   [tls]
#   ca = "DIR/ca.crt"
#   cert = "DIR/{node}.crt"
#   key = "DIR/{node}.key"
#
# Usage: scripts/make-certs.sh DIR NODE [NODE ...]
#   An existing DIR/ca.crt and DIR/ca.key are reused, so nodes can be added later.
#   DAYS (environment, default 825) sets how long the certificates are valid.
set -euo pipefail

usage() {
  echo "usage: $0 DIR NODE [NODE ...]  (node names: 1-64 of A-Z a-z 0-9 _ . -)" >&2
  exit 2
}
[ $# -ge 2 ] || usage
dir=$1
shift
days=${DAYS:-825}
for name in "$@"; do
  [[ $name =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || { echo "make-certs: bad node name '$name'" >&2; usage; }
done
command -v openssl >/dev/null || { echo "make-certs: openssl is not installed (apt-get install openssl)" >&2; exit 2; }
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -days "$days" -subj "/CN=mgraph cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  echo "make-certs: $dir/ca.crt (new cluster CA)"
fi

for name in "$@"; do
  ext="$dir/$name.ext"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n' "$name" > "$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days "$days" -sha256 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
  echo "make-certs: $dir/$name.crt, $dir/$name.key"
done
chmod 644 "$dir/ca.crt" "$dir"/*.crt
