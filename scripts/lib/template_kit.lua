-- lib/template_kit.lua — what the video templates (scripts/templates/) share:
-- the frame's numbers every build starts from, and the layers they all draw
-- the same way (the business name, the call to action, the brand's logo).
--
--   local kit = require("template_kit")
--
-- Changing this file changes every template that requires it (the host reads
-- it again on save, like the templates; docs/prompts-and-channels.md).

local kit = {}

-- f, b, t (ctx.frame, ctx.brand, ctx.text), W, H, D (seconds), u (pixels
-- per 1080), A (the content area: clear of the caption band) and an empty
-- layer list L.
function kit.frame(ctx)
  local f = ctx.frame
  return f, ctx.brand, ctx.text, f.width, f.height, f.duration, f.unit, f.content or f.area, {}
end

-- Where a backdrop stops: above the caption band (f.captions) when the band
-- lies below the content area A, else the frame's height H.
function kit.backdrop_stop(f, A, u, H)
  return (f.captions and f.captions.y >= A.y + A.h) and math.floor(f.captions.y - 12 * u) or H
end

-- Append a text layer: role, text, [start, stop] seconds, font id, size
-- (floored to whole pixels), colour; fields in more are added as they are.
function kit.text(L, role, text, start, stop, font, size, color, more)
  local layer = { role = role, text = text, start = start, ["end"] = stop, font = font,
                  font_size = math.floor(size), color = color }
  for k, v in pairs(more or {}) do layer[k] = v end
  L[#L + 1] = layer
  return layer
end

-- The business name for the whole video, fading in (nothing without one).
function kit.business_name(L, t, D, size, color, more)
  if t.business_name == "" then return nil end
  local layer = kit.text(L, "business_name", t.business_name, 0, D, "heading", size, color, more)
  layer.animation = "fade"
  return layer
end

-- The call to action as a button sliding up from `start` to the end
-- (nothing without a CTA); bg = { color, pad, radius, opacity? }.
function kit.cta(L, t, start, D, size, color, box, bg)
  if t.cta == "" then return nil end
  return kit.text(L, "cta", t.cta, start, D, "heading", size, color,
                  { animation = "slide_up", box = box, bg = bg })
end

-- The brand kit's logo where its placement puts it (nothing without a logo).
function kit.logo(L, b, D)
  if not b.logo then return nil end
  L[#L + 1] = { type = "image", role = "logo", media = b.logo, fit = "contain", start = 0, ["end"] = D,
                box = b.logo_box, fade_in = 0.4 }
  return L[#L]
end

-- What build returns: the layers, with the brand kit's logo on top, over the background.
function kit.composition(L, b, D, background)
  kit.logo(L, b, D)  -- where the brand kit puts it
  return { background = background, layers = L }
end

return kit
