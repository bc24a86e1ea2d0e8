-- Product showcase: 2-5 of the project's kept images, one after another with
-- a slow pan or zoom each and a crossfade between them; the hook over a dark
-- band at the bottom, the business name on a brand-coloured tag, the CTA as
-- an accent button at the end. Without images: a brand-coloured card design.
--
-- build(ctx) returns {background, layers} (docs/composition.md, "Templates").

local kit = require("template_kit")

local moves = {  -- one camera move per picture, in turn
  { from = { scale = 1.00, cx = 0.50, cy = 0.50 }, to = { scale = 1.14, cx = 0.50, cy = 0.46 } },
  { from = { scale = 1.12, cx = 0.40, cy = 0.50 }, to = { scale = 1.12, cx = 0.60, cy = 0.50 } },
  { from = { scale = 1.16, cx = 0.50, cy = 0.55 }, to = { scale = 1.02, cx = 0.50, cy = 0.50 } },
  { from = { scale = 1.10, cx = 0.50, cy = 0.60 }, to = { scale = 1.10, cx = 0.50, cy = 0.40 } },
  { from = { scale = 1.04, cx = 0.55, cy = 0.50 }, to = { scale = 1.18, cx = 0.45, cy = 0.50 } },
}

local function build(ctx)
  local f, b, t, W, H, D, u, A, L = kit.frame(ctx)  -- A: clear of the caption band
  local wide = W > H
  local n = math.min(#ctx.images, 5)
  local xf = 0.8                                  -- crossfade seconds
  if n > 0 then
    local seg = D / n
    for i = 1, n do
      local s = math.max(0, (i - 1) * seg - xf / 2)
      local e = math.min(D, i * seg + xf / 2)
      L[#L + 1] = { type = "image", media = ctx.images[i].media, start = s, ["end"] = e,
                    fit = "cover", motion = moves[(i - 1) % #moves + 1],
                    fade_in = i > 1 and xf or 0 }
    end
  else
    -- no pictures: a large soft card in the secondary colour behind the words
    L[#L + 1] = { type = "rect", box = { x = A.x, y = A.y + A.h * 0.08, w = A.w, h = A.h * 0.62 },
                  color = b.secondary, opacity = 0.55, radius = 48 * u, animation = "fade" }
  end

  -- the band the words sit on: bottom 42% (left 48% when landscape)
  -- feed shapes (1:1, 4:5) have no UI over their lower part: the words may use it
  local feed = f.aspect == "1:1" or f.aspect == "4:5"
  -- backdrops stop above the caption band (f.captions) when it lies below the content
  local stop = kit.backdrop_stop(f, A, u, H)
  local bottom = feed and math.min(H - 50 * u, A.y + A.h) or A.y + A.h
  local top_y = math.floor(math.min(H * (feed and 0.50 or 0.56), A.y + A.h * 0.42))
  local band = wide and { x = 0, y = 0, w = math.floor(W * 0.48), h = stop }
                     or { x = 0, y = top_y, w = W, h = math.max(stop, bottom) - top_y }
  L[#L + 1] = { type = "rect", role = "band", box = band, color = b.dark, opacity = n > 0 and 0.62 or 0.0 + 0.35 }
  L[#L + 1] = { type = "rect", role = "rule", color = b.accent, opacity = 1, animation = "fade",
                box = wide and { x = A.x, y = math.floor(A.y + A.h * 0.12), w = 120 * u, h = 16 * u }
                            or { x = A.x, y = band.y + 48 * u, w = 120 * u, h = 16 * u } }

  local tx = A.x
  local tw = wide and band.w - A.x - 40 * u or A.w
  local ty = wide and math.floor(A.y + A.h * 0.12) + 40 * u or band.y + 80 * u
  local th = (bottom - ty) * 0.55
  local hook_end = math.min(D * 0.55, 7)
  L[#L + 1] = { role = "hook", text = t.hook, start = 0.3, ["end"] = D, animation = "slide_up",
                font = "heading", font_size = math.floor(84 * u), color = "#FFFFFF", align = "left",
                box = { x = tx, y = ty, w = tw, h = th } }
  if t.caption ~= "" then
    L[#L + 1] = { role = "caption", text = t.caption, start = hook_end, ["end"] = D * 0.72,
                  animation = "fade", font = "body", font_size = math.floor(44 * u), color = "#F3F4F6",
                  align = "left", box = { x = tx, y = ty + th, w = tw, h = math.max(60 * u, bottom - (ty + th) - 10 * u) } }
  end
  kit.business_name(L, t, D, 38 * u, b.on_primary,
                    { align = "left", position = "top", bg = { color = b.primary, opacity = 0.92, pad = 22 * u, radius = 14 * u } })
  local cw = wide and tw or A.w * 0.8
  kit.cta(L, t, D * 0.72, D, 56 * u, b.on_accent,
          { x = wide and tx or A.x + (A.w - cw) / 2, y = bottom - math.min(150 * u, bottom - ty), w = cw, h = math.min(150 * u, bottom - ty) },
          { color = b.accent, opacity = 1, pad = 30 * u, radius = 40 * u })
  return kit.composition(L, b, D, { type = "gradient", colors = { b.primary, b.dark } })
end

return { build = build }
