# Sourced by the benchmark scripts.
# start_pinned CPU PORT CMD...: runs CMD pinned to CPU in the background and prints its pid once
# something listens on PORT (nothing after 5 s).
start_pinned() {
    local cpu=$1 port=$2 pid=""
    shift 2
    taskset -c "$cpu" "$@" >/dev/null 2>&1 &
    for _ in $(seq 100); do
        pid=$(ss -ltnp | grep ":$port " | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
        [ -n "$pid" ] && break
        sleep 0.05
    done
    echo "$pid"
}
