-- lib/prompt.lua — what the prompt scripts (scripts/prompts/) share.
--
--   local prompt = require("prompt")

local prompt = {}

-- A table as sorted "- key: value" lines (the business profile, a brief):
-- strings, numbers and booleans; lists joined by ", " too unless scalars_only.
function prompt.lines(t, scalars_only)
  local out = {}
  for k, v in pairs(t or {}) do
    if type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
      out[#out + 1] = "- " .. tostring(k) .. ": " .. tostring(v)
    elseif type(v) == "table" and not scalars_only then
      local items = {}
      for _, x in ipairs(v) do items[#items + 1] = tostring(x) end
      if #items > 0 then out[#out + 1] = "- " .. tostring(k) .. ": " .. table.concat(items, ", ") end
    end
  end
  table.sort(out)
  return table.concat(out, "\n")
end

-- A channel's limits as one line for the model; with_beats adds the script's beats.
function prompt.limits(name, r, with_beats)
  local h = r.hashtags or {}
  local beats = with_beats and string.format("script <= %d beats; ", r.script and r.script.max_beats or 6) or ""
  return string.format("- %s: caption <= %d characters (aim for ~%d); %d-%d hashtags; hook <= %d words; "
      .. "%stone: %s; CTA style: %s",
    name, r.caption and r.caption.max_chars or 300, r.caption and r.caption.ideal_chars or 150,
    h.min or 0, h.max or 0, r.hook and r.hook.max_words or 12, beats, r.tone or "", r.cta and r.cta.style or "")
end

-- Append the business context (its first 4000 bytes) under a heading, when there is one.
function prompt.add_context(add, context, heading)
  if context and context ~= "" then
    add("")
    add(heading or "Business context:")
    add(string.sub(context, 1, 4000))
  end
end

-- Append why the previous answer was refused, on a retry.
function prompt.add_retry(add, reason, ask)
  if reason and reason ~= "" then
    add("")
    add("Your previous answer was rejected: " .. reason .. (ask or ". Answer with only the JSON object."))
  end
end

return prompt
