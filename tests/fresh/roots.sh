# Sourced after tests/distros/lib.sh: where tests/fresh/build-roots.sh keeps the Debian 13
# roots of the fresh-server test. The name carries a hash of build-roots.sh, so a changed
# recipe builds new roots instead of reusing stale ones.
fresh_tarball() {
  local key
  key=$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/build-roots.sh" | cut -c1-12)
  echo "$DISTRO_CACHE/trixie-$1-$key.tar"
}
