#!/usr/bin/env bash
# Run tools/valgrind_workload.py (a fit/predict/partial_fit cycle through
# every engine path) under valgrind's memcheck and print the number of
# invalid reads/writes and other memory errors (issue 4). Exit 1 if any.
#
#   tools/valgrind_check.sh [python]
#
# PYTHONMALLOC=malloc makes every Python allocation visible to valgrind.
# The interpreter must be the real binary (a venv's python, or
# sys.executable), not a pyenv shim, which is a shell script. Leaks are not
# counted (--errors-for-leak-kinds=none): the interpreter keeps much alive at
# exit; tools/memory_growth.py measures growth instead. The suppressions
# cover what CPython, NumPy and OpenBLAS report without fastmlp.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python}"
python="$("$python" -c 'import sys; print(sys.executable)')"
out="$(mktemp -d)"
log="$out/valgrind.log"

start=$(date +%s)
PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=0 \
    --errors-for-leak-kinds=none --leak-check=no --track-origins=no \
    --suppressions="$here/valgrind-python.supp" --num-callers=30 \
    --log-file="$log" "$python" "$here/valgrind_workload.py" > "$out/stdout"
seconds=$(( $(date +%s) - start ))
if ! grep -q "workload done" "$out/stdout"; then
    echo "the workload did not finish under valgrind (log: $log)"
    exit 1
fi
suppressed=$(grep -Eo 'suppressed: [0-9]+ from' "$log" | grep -Eo '[0-9]+' | head -1)

errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ errors' "$log" | grep -Eo '[0-9]+' | head -1)
invalid=$(grep -Ec '^==[0-9]+== (Invalid (read|write|free)|Mismatched free|Source and destination overlap)' "$log" || true)
uninit=$(grep -Ec '^==[0-9]+== (Conditional jump|Use of uninitialised|Syscall param)' "$log" || true)
in_fastmlp=$(awk '/^==[0-9]+== [A-Z]/ {err=$0} /fastmlp/ && err {print err; err=""}' "$log" | wc -l)
echo "valgrind memcheck (${seconds} s): ${errors} errors; invalid reads/writes/frees: ${invalid};" \
     "uninitialised-value uses: ${uninit}; errors with a fastmlp frame: ${in_fastmlp}" \
     "(${suppressed} interpreter/loader reports suppressed, as without fastmlp)"
if [ "${errors}" != "0" ]; then
    echo "first errors (full log: $log):"
    grep -A 25 -m 3 -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|Source)' "$log" | head -90
    exit 1
fi
