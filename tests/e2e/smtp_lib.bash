# Helpers for the notify_email* e2e scripts (sourced after lib.bash).
PY=/usr/bin/python3 # Debian's: the one that sees python3-aiosmtpd

# start_smtp NAME [ARGS...]: tests/e2e/smtp_sink.py (a real aiosmtpd SMTP
# server) on a free loopback port, saving mail to $WORK/NAME; stopped at
# exit.  Sets SMTP_PORT.
start_smtp() {
  local name=$1
  shift
  "$PY" "$SRC/tests/e2e/smtp_sink.py" --port-file "$WORK/$name.port" --dir "$WORK/$name" "$@" \
    >"$WORK/$name.log" 2>&1 &
  _started+=($!)
  for _ in $(seq 200); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  [ -s "$WORK/$name.port" ] || { cat "$WORK/$name.log"; fail "SMTP server $name did not start"; }
  SMTP_PORT=$(cat "$WORK/$name.port")
}

# free_port: a loopback port nobody listens on (bound, then closed).
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# make_cert DIR: a self-signed certificate for 127.0.0.1 (DIR/cert.pem, DIR/key.pem).
make_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
}

# mail_count NAME: how many messages server NAME accepted.
mail_count() {
  find "$WORK/$1" -name '*.json' 2>/dev/null | wc -l
}
