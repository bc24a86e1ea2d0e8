-- Quote / testimonial card: a large accent quotation mark, the words in a
-- serif face on a deep brand background, five stars and who said it, then
-- the call to action. With images the first one sits in a rounded frame
-- above the quote, slowly zooming.
--
-- build(ctx) returns {background, layers} (docs/composition.md, "Templates").

local kit = require("template_kit")

-- The quoted words and who said them: a "..." (or “...”) in the hook or
-- caption, and a "- Name" after it; else the hook, said by a customer.
local function quote_of(t)
  for _, s in ipairs({ t.hook, t.caption }) do
    local q = s:match('\u{201C}(.-)\u{201D}') or s:match('"(.-)"')
    if q and #q > 8 then
      local who = s:match('[\u{201D}"]%s*[%-\u{2013}\u{2014}]+%s*([^%.!?\n]+)')
      return q, who
    end
  end
  return t.hook, nil, true
end

local function build(ctx)
  local f, b, t, W, H, D, u, A, L = kit.frame(ctx)  -- A: clear of the caption band
  local wide = W > H
  local words, who, whole = quote_of(t)
  who = who or (t.business_name ~= "" and ("A happy " .. t.business_name .. " customer") or "A happy customer")

  local qx, qw = A.x, A.w
  local top = A.y + (t.business_name ~= "" and 110 * u or 0)   -- below the name tag
  if #ctx.images > 0 then
    local s = wide and math.min(A.h * 0.8, W * 0.34) or math.min(A.w * 0.62, A.h * 0.34)
    local box = wide and { x = A.x, y = A.y + (A.h - s) / 2, w = s, h = s }
                      or { x = A.x + (A.w - s) / 2, y = top, w = s, h = s }
    L[#L + 1] = { type = "image", media = ctx.images[1].media, start = 0, ["end"] = D, fit = "cover", box = box,
                  radius = 36 * u, fade_in = 0.5,
                  motion = { from = { scale = 1.0, cx = 0.5, cy = 0.5 }, to = { scale = 1.12, cx = 0.5, cy = 0.45 } } }
    if wide then qx, qw = box.x + box.w + 60 * u, A.x + A.w - (box.x + box.w + 60 * u) else top = box.y + box.h + 20 * u end
  end
  local span = (A.y + A.h) - top
  -- rows from the bottom up: the CTA, the author, the stars; the quote above them
  local cta_y = (A.y + A.h) - 150 * u
  local stars_y = math.min(top + span * 0.58, cta_y - 154 * u)
  L[#L + 1] = { role = "mark", text = "\u{201C}", start = 0, ["end"] = D, animation = "fade",
                font = "dejavu-serif-bold", font_size = math.floor(220 * u), color = b.accent, align = "left",
                box = { x = qx, y = top, w = 200 * u, h = math.min(220 * u, span * 0.22) } }
  local cap_h = cta_y - 10 * u - (stars_y + 150 * u)
  local cap_fits = cap_h >= 60 * u   -- else the caption takes the quote's place for a while
  L[#L + 1] = { role = whole and "hook" or "quote", text = words, start = 0.4,
                ["end"] = (cap_fits or t.caption == "") and D or D * 0.45, animation = "fade",
                font = "dejavu-serif-bold", font_size = math.floor(76 * u), color = "#FFFFFF", align = "left",
                box = { x = qx, y = top + span * 0.18, w = qw, h = math.max(60 * u, stars_y - (top + span * 0.18) - 8 * u) } }
  L[#L + 1] = { role = "stars", text = "\u{2605}\u{2605}\u{2605}\u{2605}\u{2605}", start = 1.2, ["end"] = D,
                animation = "slide_up", font = "dejavu-sans-bold", font_size = math.floor(48 * u), color = b.accent,
                align = "left", box = { x = qx, y = stars_y, w = qw, h = 70 * u } }
  L[#L + 1] = { role = "author", text = "\u{2014} " .. who, start = 1.6, ["end"] = D, animation = "fade",
                font = "body", font_size = math.floor(40 * u), color = "#E5E7EB", align = "left",
                box = { x = qx, y = stars_y + 74 * u, w = qw, h = 70 * u } }
  if not cap_fits and t.caption ~= "" then  -- the quote again once the caption has had its turn
    L[#L + 1] = { role = whole and "hook" or "quote", text = words, start = D * 0.72, ["end"] = D, animation = "fade",
                  font = "dejavu-serif-bold", font_size = math.floor(76 * u), color = "#FFFFFF", align = "left",
                  box = { x = qx, y = top + span * 0.18, w = qw, h = math.max(60 * u, stars_y - (top + span * 0.18) - 8 * u) } }
  end
  if t.caption ~= "" then  -- between the author and the CTA, else in the quote's place
    L[#L + 1] = { role = "caption", text = t.caption, start = cap_fits and D * 0.30 or D * 0.45, ["end"] = D * 0.72,
                  animation = "fade", font = "body", font_size = math.floor((cap_fits and 36 or 48) * u),
                  color = "#D1D5DB", align = "left",
                  box = cap_fits and { x = qx, y = stars_y + 150 * u, w = qw, h = cap_h }
                                  or { x = qx, y = top + span * 0.18, w = qw, h = math.max(60 * u, stars_y - (top + span * 0.18) - 8 * u) } }
  end
  kit.cta(L, t, D * 0.72, D, 52 * u, b.on_accent, { x = qx, y = cta_y, w = qw, h = 150 * u },
          { color = b.accent, pad = 28 * u, radius = 40 * u })
  kit.business_name(L, t, D, 34 * u, b.on_primary,
                    { position = "top", align = "left", bg = { color = b.primary, pad = 18 * u, radius = 24 * u } })
  return kit.composition(L, b, D, { type = "gradient", colors = { b.dark, b.primary } })
end

return { build = build }
