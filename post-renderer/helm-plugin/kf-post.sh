#!/bin/sh
# Runs the kf-post binary bundled with the plugin ($HELM_PLUGIN_DIR/bin) if
# there is one, else the kf-post found on PATH.
#
# Helm 4 collects a subprocess post-renderer's stderr and drops it, so neither
# kf-post's error messages nor its --explain report would reach the user.
# On Linux, write them to Helm's own stderr instead (the parent process) when
# that is a terminal or a pipe; a regular file is left alone, since reopening
# it would not share Helm's write offset and the two would overwrite each other.
helm_stderr="/proc/$PPID/fd/2"
if [ -w "$helm_stderr" ] && { [ -p "$helm_stderr" ] || [ -c "$helm_stderr" ]; }; then
  exec 2>>"$helm_stderr"
fi
if [ -x "${HELM_PLUGIN_DIR}/bin/kf-post" ]; then
  exec "${HELM_PLUGIN_DIR}/bin/kf-post" "$@"
fi
if command -v kf-post >/dev/null 2>&1; then
  exec kf-post "$@"
fi
echo "kf-post plugin: no kf-post binary in ${HELM_PLUGIN_DIR}/bin or on PATH" \
  "(build it: cargo build --release -p kf-post)" >&2
exit 1
