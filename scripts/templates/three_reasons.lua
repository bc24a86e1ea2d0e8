-- Three reasons: a title band in the brand colour with the hook, then three
-- numbered reasons (the draft's first script beats) that arrive one after
-- another, and the call to action as a button at the end. With images the
-- first one moves slowly inside the title band.
--
-- build(ctx) returns {background, layers} (docs/composition.md, "Templates").

local kit = require("template_kit")

local function reasons(t)
  local out = {}
  local beats = t.beats or {}
  -- the last beat usually carries the call to action: skip it when there are enough
  local last = #beats > 3 and #beats - 1 or #beats
  for i = 1, last do
    if #out < 3 and beats[i] ~= t.hook then out[#out + 1] = beats[i] end
  end
  if #out < 3 and t.caption ~= "" then
    for s in t.caption:gmatch("[^%.!?]+[%.!?]?") do
      s = s:gsub("^%s+", "")
      if #out < 3 and #s > 3 then out[#out + 1] = s end
    end
  end
  return out
end

local function build(ctx)
  local f, b, t, W, H, D, u, A, L = kit.frame(ctx)  -- A: clear of the caption band
  local wide = W > H or A.h < 700 * u   -- side by side when the content area is short (captions below)
  local list = reasons(t)

  -- title band: the top of the safe area (the left 40% when landscape)
  -- backdrops stop above the caption band (f.captions) when it lies below the content
  local stop = kit.backdrop_stop(f, A, u, H)
  local band = wide and { x = 0, y = 0, w = math.floor(W * 0.40), h = stop }
                     or { x = 0, y = 0, w = W, h = math.floor(A.y + A.h * 0.30) }
  if #ctx.images > 0 then
    L[#L + 1] = { type = "image", media = ctx.images[1].media, start = 0, ["end"] = D, fit = "cover", box = band,
                  motion = { from = { scale = 1.05, cx = 0.45, cy = 0.5 }, to = { scale = 1.15, cx = 0.55, cy = 0.5 } } }
    L[#L + 1] = { type = "rect", role = "tint", box = band, color = b.primary, opacity = 0.72 }
  else
    L[#L + 1] = { type = "rect", role = "band", box = band, color = b.primary }
  end
  local tb = wide and { x = A.x, y = A.y + A.h * 0.2, w = band.w - A.x - 40 * u, h = A.h * 0.5 }
                   or { x = A.x, y = A.y + 30 * u, w = A.w, h = band.h - A.y - 60 * u }
  L[#L + 1] = { role = "hook", text = t.hook, start = 0.2, ["end"] = D, animation = "slide_up",
                font = "heading", font_size = math.floor(76 * u), color = b.on_primary, align = "left",
                box = { x = tb.x, y = tb.y, w = tb.w, h = tb.h * 0.66 } }
  if t.caption ~= "" then
    L[#L + 1] = { role = "caption", text = t.caption, start = 0.6, ["end"] = D, animation = "fade",
                  font = "body", font_size = math.floor(34 * u), color = b.on_primary, align = "left",
                  box = { x = tb.x, y = tb.y + tb.h * 0.66, w = tb.w, h = tb.h * 0.34 } }
  end

  -- the list
  local lx = wide and band.x + band.w + 60 * u or A.x
  local lw = wide and W - lx - A.w * 0.06 - 40 * u or A.w
  local ly = wide and A.y + 20 * u or band.h + 50 * u
  local lh = wide and math.min(A.h * 0.78, A.h - 190 * u) or (A.y + A.h) - ly - 190 * u
  local row = math.floor(lh / 3)
  local dot = math.floor(math.min(96 * u, row * 0.7))
  local step = math.max(1.2, math.min(2.2, (D * 0.72 - 1.2) / 3))
  for i, text in ipairs(list) do
    local s = 1.0 + (i - 1) * step
    local y = ly + (i - 1) * row
    L[#L + 1] = { type = "rect", role = "dot", box = { x = lx, y = y + (row - dot) / 2, w = dot, h = dot },
                  color = b.accent, radius = dot / 2, start = s, ["end"] = D, animation = "slide_up" }
    L[#L + 1] = { role = "number", text = tostring(i), start = s, ["end"] = D, animation = "slide_up",
                  font = "heading", font_size = math.max(14, math.floor(dot * 0.55)), color = b.on_accent, shadow = false,
                  box = { x = lx, y = y + (row - dot) / 2, w = dot, h = dot } }
    L[#L + 1] = { role = "point", text = text, start = s, ["end"] = D, animation = "slide_up",
                  font = "body", font_size = math.floor(50 * u), color = b.dark, align = "left", shadow = false,
                  box = { x = lx + dot + 36 * u, y = y + 6 * u, w = lw - dot - 36 * u, h = row - 12 * u } }
  end
  kit.cta(L, t, D * 0.74, D, 54 * u, b.on_primary,
          { x = lx, y = wide and A.y + A.h - 150 * u or (A.y + A.h) - 160 * u, w = lw, h = 150 * u },
          { color = b.primary, pad = 30 * u, radius = 40 * u })
  kit.business_name(L, t, D, 36 * u, b.on_primary,
                    { align = "left", box = wide and { x = A.x, y = A.y, w = band.w - A.x - 40 * u, h = 80 * u }
                                                  or { x = A.x, y = math.max(0, A.y - 100 * u), w = A.w * 0.7, h = 80 * u } })
  return kit.composition(L, b, D, { type = "solid", color = b.light })
end

return { build = build }
