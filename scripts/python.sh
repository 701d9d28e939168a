# Sourced by the scripts that make .venv: finds the Python 3.11 to build it with.

# Print the command of a working Python 3.11: python3.11, or else python3 if it is 3.11.
find_python311() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Credo needs Python 3.11, and neither python3.11 nor python3 on PATH is Python 3.11" >&2
    return 1
}
