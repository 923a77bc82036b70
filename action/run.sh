#!/usr/bin/env bash
# The crossfire command the action's inputs (INPUT_* variables) ask for,
# run; with CROSSFIRE_ACTION_PRINT=1 only printed (the tests read it so).
set -euo pipefail
fail() {
    echo "::error title=crossfire action::$1"
    exit 2
}
command="${INPUT_COMMAND:-drill}"
cmd=(crossfire "$command")
case "$command" in
    drill)
        [ -n "${INPUT_CONFIG:-}" ] || fail "input config: drill needs the gateway config file, as in \`config: gateway/litellm.yaml\`"
        cmd+=(--gateway "${INPUT_GATEWAY:-litellm}" --config "$INPUT_CONFIG")
        if [ -n "${INPUT_VERSIONS:-}" ]; then
            cmd+=(--versions "$INPUT_VERSIONS")
        fi
        if [ -n "${INPUT_FAIL_ON:-}" ]; then
            cmd+=(--fail-on "$INPUT_FAIL_ON")
        fi
        ;;
    run)
        [ -n "${INPUT_SCENARIOS:-}" ] || fail "input scenarios: run needs scenario files, as in \`scenarios: crossfire/*.yaml\`"
        read -ra scenarios <<< "$INPUT_SCENARIOS"
        cmd+=("${scenarios[@]}")
        if [ -n "${INPUT_CONFIG:-}" ]; then
            cmd+=(--gateway "${INPUT_GATEWAY:-litellm}" --config "$INPUT_CONFIG")
        fi
        [ -z "${INPUT_FAIL_ON:-}" ] || fail "input fail-on: is for drill; run fails on any unmet expectation"
        [ -z "${INPUT_VERSIONS:-}" ] || fail "input versions: is for drill"
        cmd+=(--junit "${INPUT_JUNIT:-crossfire.xml}")
        ;;
    *)
        fail "input command: \`$command\` is not one of drill, run"
        ;;
esac
if [ -n "${INPUT_SNAPSHOTS:-}" ]; then
    [ -z "${INPUT_VERSIONS:-}" ] || fail "input snapshots: an upgrade diff (versions) compares two versions, not snapshots"
    cmd+=(--snapshots "$INPUT_SNAPSHOTS")
fi
cmd+=(--markdown "${INPUT_MARKDOWN:-crossfire.md}" --json "${INPUT_JSON:-crossfire.json}")
if [ -n "${INPUT_ARGS:-}" ]; then
    read -ra extra <<< "$INPUT_ARGS"
    cmd+=("${extra[@]}")
fi
if [ "${CROSSFIRE_ACTION_PRINT:-}" = 1 ]; then
    echo "${cmd[*]}"
    exit 0
fi
exec "${cmd[@]}"
