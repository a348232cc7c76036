# bench/http_lib.bash — shared by bench/http.sh and bench/http_sweep.sh (source
# it from the repository root): a private nginx (1 worker, keep-alive, a
# 139-byte JSON file on a loopback port, stub_status for the connection count)
# and the raw libcurl client (bench/curl_raw.c) built into $work.
# Sets: work, url, status_url, curl_raw; stops nginx and removes $work on exit.

work=$(mktemp -d)
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_nginx() {
  local port
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/www" "$work/tmp"
  chmod 755 "$work" "$work/www" # nginx workers run as nobody when started by root
  printf '{"status":"ok","service":"etp-express-backend","database":"up","uptime":12345,"checks":[{"name":"db","ok":true},{"name":"openai","ok":true}]}\n' >"$work/www/health.json"
  cat >"$work/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 30000;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  server {
    listen 127.0.0.1:$port backlog=8192;
    root $work/www;
    location / { }
    location = /nginx_status { stub_status; }
  }
}
EOF
  /usr/sbin/nginx -c "$work/nginx.conf" -p "$work" 2>"$work/nginx.stderr" &
  nginx_pid=$!
  url="http://127.0.0.1:$port/health.json"
  status_url="http://127.0.0.1:$port/nginx_status"
  for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.05; done
  curl -sf -o /dev/null "$url" || {
    echo "nginx did not start"
    tail -5 "$work/nginx.stderr" "$work/error.log"
    exit 1
  }
}

# Connections nginx has accepted so far (stub_status "accepts").
nginx_accepts() { curl -s "$status_url" | awk 'NR == 3 {print $1}'; }

build_curl_raw() {
  curl_raw=$work/curl_raw
  # shellcheck disable=SC2046
  cc -O2 -o "$curl_raw" bench/curl_raw.c $(pkg-config --cflags --libs libcurl libuv) || {
    echo "cannot build bench/curl_raw.c"
    exit 1
  }
}

# CPU seconds (user + system) of a command whose stdout is kept in $work/out.
# Prints "<cpu seconds>"; the command's output is in $work/out.
cpu_of() {
  /usr/bin/time -f '%U %S' -o "$work/time" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  tail -1 "$work/time" | awk '{printf "%.3f", $1 + $2}'
  return $rc
}

max() { if [ "${1:-0}" -gt "${2:-0}" ]; then echo "$1"; else echo "${2:-0}"; fi; }
ratio() { if [ "${2:-0}" -gt 0 ]; then printf '%.2f' "$(echo "$1 / $2" | bc -l)"; else echo "-"; fi; }
