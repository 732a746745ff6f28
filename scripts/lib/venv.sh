# Sourced by the e2e scripts: a Python venv cached between runs, rebuilt when its pins
# change or its packages no longer import. Needs a `say` function.
#   cached_venv DIR "pkg==1.0 other==2.0" "import pkg, other"
cached_venv() {
  local venv=$1 pins=$2 check=$3
  if [ "$(cat "$venv/.pins" 2>/dev/null)" = "$pins" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    return 0
  fi
  say "creating $venv ($pins)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian and Ubuntu ship venv's ensurepip separately.
    rm -rf "$venv"
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "installing python3-venv"
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      say "python3 -m venv does not work here: install python3-venv"
      return 1
    fi
  fi
  # shellcheck disable=SC2086 # pins are separate words
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $pins
  echo "$pins" >"$venv/.pins"
}
