#!/usr/bin/env bash
# Writes Claude-Code-like request bodies into DIR: small.json (~200 B), and for 50k and 500k a
# body with a long system prompt, tools and message history (text, tool_use, tool_result), each
# as a non-streaming (*.json) and a streaming (*-sse.json) variant.
#   bench/gen_bodies.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"

# JSON-safe filler text (no quotes or backslashes except the escaped newlines we add).
para='The relay reads every request body, picks a provider, and forwards the bytes unchanged;'
para+=' streaming answers are flushed event by event so that the client sees tokens as they come.'
code='    for (const auto& item : items) {\n        if (item.ready()) out.push_back(item.id());\n    }\n'

repeat() {  # repeat TEXT N
    local out= i
    for ((i = 0; i < $2; i++)); do out+=$1; done
    printf '%s' "$out"
}

tool() {  # tool NAME
    printf '{"name":"%s","description":"%s","input_schema":{"type":"object","properties":{' \
        "$1" "$(repeat "$para " 4)"
    printf '"file_path":{"type":"string","description":"The absolute path to the file"},'
    printf '"limit":{"type":"number","description":"How many lines to read at most"},'
    printf '"pattern":{"type":"string","description":"A regular expression to look for"}},'
    printf '"required":["file_path"],"additionalProperties":false,'
    printf '"$schema":"http://json-schema.org/draft-07/schema#"}}'
}

code12=$(repeat "$code" 12)
turn() {  # turn INDEX: prints an assistant tool_use and the user's tool_result with a file
    local t
    printf -v t ',{"role":"assistant","content":[{"type":"text","text":"Let me read the next file."},{"type":"tool_use","id":"toolu_bench%05d","name":"Read","input":{"file_path":"/home/dev/project/src/module_%d.cc"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_bench%05d","content":"%s"}]}' \
        "$1" "$1" "$1" "$code12"
    printf '%s' "$t"
    size=$((size + ${#t}))
}

large() {  # large TARGET_BYTES STREAM
    local target=$1 stream=$2 body i=0 size
    body='{"model":"claude-sonnet-4-5-20250929","max_tokens":32000,"stream":'"$stream"','
    body+='"system":[{"type":"text","text":"You are Claude Code, an interactive CLI tool."},'
    body+='{"type":"text","text":"'"$(repeat "$para\\n" 40)"'",'
    body+='"cache_control":{"type":"ephemeral"}}],"tools":['
    local names=(Task Bash Glob Grep LS ExitPlanMode Read Edit MultiEdit Write NotebookEdit
                 WebFetch TodoWrite WebSearch BashOutput KillShell)
    local first=1 n
    for n in "${names[@]}"; do
        [ $first = 1 ] || body+=','
        first=0
        body+=$(tool "$n")
    done
    body+='],"messages":[{"role":"user","content":[{"type":"text","text":"'
    body+="$(repeat "$para " 3)"'"}]}'
    local tail=',{"role":"user","content":[{"type":"text","text":"Now fix the failing test."}]}],'
    tail+='"metadata":{"user_id":"user_bench_account__session_0f4c2a"}}'
    printf '%s' "$body"
    size=$((${#body} + ${#tail}))
    while [ "$size" -lt "$target" ]; do
        turn $i
        i=$((i + 1))
    done
    printf '%s' "$tail"
}

printf '%s' '{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"messages":[{"role":"user",'\
'"content":"Write a haiku about relays and the packets they carry across the night."}],'\
'"stream":false}' > "$dir/small.json"
printf '%s' '{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"messages":[{"role":"user",'\
'"content":"Write a haiku about relays and the packets they carry across the night."}],'\
'"stream":true}' > "$dir/small-sse.json"
large 51200 false > "$dir/50k.json"
large 51200 true > "$dir/50k-sse.json"
large 512000 false > "$dir/500k.json"
large 512000 true > "$dir/500k-sse.json"
