#!/bin/bash
# berth's main job on a fresh machine (run by `make demo` after the build
# and install): start berthd unless it runs, create the built-in default
# image, and run containers from it with the berth CLI.
set -euo pipefail
PREFIX=${PREFIX:-/usr/local}
BERTH="$PREFIX/bin/berth"
BERTHD="$PREFIX/bin/berthd"
SOCK=/run/berth/berth.sock
export BERTH_HOST="unix://$SOCK"

if ! "$BERTH" version >/dev/null 2>&1; then
        if [ -d /run/systemd/system ]; then
                install -m 0644 contrib/berthd.service /etc/systemd/system/berthd.service
                systemctl daemon-reload
                systemctl start berthd
        else
                echo "+ starting berthd (log: /var/log/berthd.log)"
                setsid "$BERTHD" >>/var/log/berthd.log 2>&1 </dev/null &
        fi
        for _ in $(seq 1 100); do
                "$BERTH" version >/dev/null 2>&1 && break
                sleep 0.05
        done
fi
"$BERTH" version

if ! "$BERTH" image inspect berth/busybox:latest >/dev/null 2>&1; then
        echo "+ creating the default image berth/busybox:latest"
        bash scripts/default-image.sh "$BERTH"
fi
"$BERTH" images

echo "+ berth run --rm berth/busybox sh -c ..."
start=$(date +%s%N)
"$BERTH" run --rm --network none berth/busybox sh -c \
        'echo "hello from $(hostname): pid $$ as uid $(id -u)"; echo capabilities: $(grep CapEff /proc/self/status)'
end=$(date +%s%N)
echo "container created, ran and was removed in $(( (end - start) / 1000000 )) ms"
echo "+ berth run -d --name berth-demo ...; berth ps; berth logs; berth rm -f"
"$BERTH" rm -f berth-demo >/dev/null 2>&1 || true
"$BERTH" run -d --name berth-demo berth/busybox sh -c 'while true; do date; sleep 1; done'
sleep 1.2
"$BERTH" ps
"$BERTH" logs berth-demo
"$BERTH" rm -f berth-demo
echo "+ a user network: a web server found by name, and published on 127.0.0.1"
"$BERTH" rm -f berth-demo-web >/dev/null 2>&1 || true
"$BERTH" network rm berth-demo-net >/dev/null 2>&1 || true
"$BERTH" network create berth-demo-net >/dev/null
"$BERTH" run -d --name berth-demo-web --network berth-demo-net -p 127.0.0.1::80 \
        berth/busybox sh -c 'mkdir -p /w && echo "hello from $(hostname)" >/w/index.html && exec httpd -f -p 80 -h /w' >/dev/null
"$BERTH" run --rm --network berth-demo-net berth/busybox wget -qO- http://berth-demo-web/
port=$("$BERTH" port berth-demo-web 80/tcp | sed 's/.*://')
for _ in $(seq 1 50); do
        body=$(curl -fs "http://127.0.0.1:$port/" 2>/dev/null) && break
        sleep 0.05
done
echo "127.0.0.1:$port answers: ${body:-nothing}"
"$BERTH" rm -f berth-demo-web >/dev/null
"$BERTH" network rm berth-demo-net >/dev/null
echo "+ berth build: a Dockerfile into an image, then again from the cache"
CTX=$(mktemp -d)
printf 'FROM berth/busybox\nWORKDIR /app\nRUN echo built by berth build > greeting\nCMD ["cat", "greeting"]\n' >"$CTX/Dockerfile"
"$BERTH" build -t berth-demo-built "$CTX"
"$BERTH" build -t berth-demo-built "$CTX" | grep -F -e 'Using cache' -e 'Successfully'
"$BERTH" run --rm --network none berth-demo-built
rm -rf "$CTX"
echo "berthd keeps running; try: berth run -it --rm berth/busybox sh"
