#!/bin/sh
# Runs the kf-post binary bundled with the plugin ($HELM_PLUGIN_DIR/bin) if
# there is one, else the kf-post found on PATH.
#
# Helm 4 collects a subprocess post-renderer's stderr into a buffer and drops
# it, so neither kf-post's error messages nor its --explain report would reach
# the user. On Linux, they go to Helm's own stderr (that of the parent
# process, /proc/$PPID/fd/2) instead:
# - a terminal or a pipe: kf-post writes there directly;
# - a regular file opened for appending (`2>>log`): appended when kf-post ends;
# - a regular file written at Helm's own offset (`2>log`): appending now would
#   be overwritten by what Helm writes next, so a background process appends
#   it once Helm has exited (after Helm's own `Error: ...` line).
# - a socket, which cannot be reopened through /proc: kf-post takes Helm's
#   descriptor itself (pidfd_getfd, see KF_POST_STDERR_OF_PID in main.rs).
# /dev/null is a character device: written to, that is, discarded as asked.
if [ -x "${HELM_PLUGIN_DIR}/bin/kf-post" ]; then
  kf_post="${HELM_PLUGIN_DIR}/bin/kf-post"
elif command -v kf-post >/dev/null 2>&1; then
  kf_post=kf-post
else
  echo "kf-post plugin: no kf-post binary in ${HELM_PLUGIN_DIR}/bin or on PATH" \
    "(build it: cargo build --release -p kf-post)" >&2
  exit 1
fi

helm_pid=$PPID
helm_stderr="/proc/$helm_pid/fd/2"
if [ -w "$helm_stderr" ] && { [ -p "$helm_stderr" ] || [ -c "$helm_stderr" ]; }; then
  exec 2>>"$helm_stderr"
  exec "$kf_post" "$@"
fi
if [ -S "$helm_stderr" ]; then
  export KF_POST_STDERR_OF_PID="$helm_pid"
  exec "$kf_post" "$@"
fi
if ! { [ -f "$helm_stderr" ] && [ -w "$helm_stderr" ]; }; then
  exec "$kf_post" "$@"
fi

messages=$(mktemp "${TMPDIR:-/tmp}/kf-post-stderr.XXXXXX") || exec "$kf_post" "$@"
status=0
"$kf_post" "$@" 2>"$messages" || status=$?
if [ ! -s "$messages" ]; then
  rm -f "$messages"
  exit "$status"
fi
flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$helm_pid/fdinfo/2" 2>/dev/null)
# O_APPEND is 02000 (octal); fdinfo prints the flags in octal.
if [ -n "$flags" ] && [ $((0$flags & 02000)) -ne 0 ]; then
  cat "$messages" >>"$helm_stderr"
  rm -f "$messages"
else
  # Reopened before Helm exits (the /proc link goes with it); written after.
  exec 3>>"$helm_stderr"
  (
    while kill -0 "$helm_pid" 2>/dev/null; do sleep 0.1; done
    cat "$messages" >&3
    rm -f "$messages"
  ) </dev/null >/dev/null 2>&1 &
  exec 3>&-
fi
exit "$status"
