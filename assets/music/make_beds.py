#!/usr/bin/env python3
"""make_beds.py — writes the bundled music beds as Standard MIDI Files.

The beds are written by the project itself (no samples, no third-party
melodies), so they are licence-clean: CC0, like this script. The build renders
each .mid to a 48 kHz FLAC with FluidSynth and Debian's General MIDI
soundfont (fluid-soundfont-gm); see CMakeLists.txt and docs/audio.md.

    python3 assets/music/make_beds.py   # rewrites assets/music/*.mid

Each bed is 16 bars in 4/4 and loops cleanly (it ends on the chord it starts
from, with no reverb tail cut), so the mix can loop it under any video length.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TPQ = 480  # ticks per quarter note


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


class Track:
    def __init__(self, channel, program, volume=100, pan=64):
        self.ch = channel
        self.events = []  # (tick, order, bytes)
        self.events.append((0, 0, bytes([0xC0 | channel, program])))
        self.events.append((0, 0, bytes([0xB0 | channel, 7, volume])))
        self.events.append((0, 0, bytes([0xB0 | channel, 10, pan])))

    def note(self, tick, length, pitch, vel):
        self.events.append((tick, 2, bytes([0x90 | self.ch, pitch, vel])))
        self.events.append((tick + length, 1, bytes([0x80 | self.ch, pitch, 0])))

    def chunk(self, end_tick):
        data = b""
        last = 0
        for tick, _, ev in sorted(self.events, key=lambda e: (e[0], e[1])):
            data += vlq(tick - last) + ev
            last = tick
        data += vlq(max(0, end_tick - last)) + b"\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(data)) + data


def tempo_track(bpm, end_tick):
    us = int(60_000_000 / bpm)
    data = b"\x00\xff\x51\x03" + us.to_bytes(3, "big") + b"\x00\xff\x58\x04\x04\x02\x18\x08"
    data += vlq(end_tick) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(data)) + data


BEDS = []


def write(name, bpm, tracks, bars, title, mood):
    end = bars * 4 * TPQ
    body = tempo_track(bpm, end) + b"".join(t.chunk(end) for t in tracks)
    head = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks) + 1, TPQ)
    with open(os.path.join(HERE, name + ".mid"), "wb") as f:
        f.write(head + body)
    # loop_seconds: where the music loops (the render cuts the reverb tail there)
    BEDS.append({"id": name, "title": title, "mood": mood, "bpm": bpm,
                 "loop_seconds": round(bars * 4 * 60.0 / bpm, 3)})


# Chords as MIDI pitches (root position, middle register).
C, Am, F, G = [60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62]
Dm, Em = [62, 65, 69], [52, 55, 59]
Q, E, H, W = TPQ, TPQ // 2, TPQ * 2, TPQ * 4


def upbeat():
    """'upbeat': bright pop, 112 bpm, piano off-beat chords, bass, light drums."""
    prog = [C, G, Am, F] * 4
    piano, bass, drums = Track(0, 0, 92), Track(1, 33, 100), Track(9, 0, 80)
    for bar, ch in enumerate(prog):
        t0 = bar * W
        for beat in range(4):
            for p in ch:
                piano.note(t0 + beat * Q + E, E - 20, p + 12, 70)
        root = ch[0] - 24
        for i, off in enumerate([0, Q + E, 2 * Q, 3 * Q]):
            bass.note(t0 + off, E, root + (12 if i == 2 else 0), 95)
        for beat in range(4):
            drums.note(t0 + beat * Q, E, 36 if beat % 2 == 0 else 38, 90 if beat % 2 == 0 else 70)
            drums.note(t0 + beat * Q, E // 2, 42, 55)
            drums.note(t0 + beat * Q + E, E // 2, 42, 40)
    write("upbeat", 112, [piano, bass, drums], 16, "Upbeat", "bright pop: piano, bass, light drums")


def calm():
    """'calm': warm pads and a slow arpeggio, 76 bpm."""
    prog = [F, C, Dm, G] * 4
    pad, harp, bass = Track(0, 89, 80), Track(1, 46, 70), Track(2, 32, 85)
    for bar, ch in enumerate(prog):
        t0 = bar * W
        for p in ch:
            pad.note(t0, W - 10, p, 60)
        arp = ch + [ch[0] + 12]
        for i in range(8):
            harp.note(t0 + i * E, E * 2, arp[i % 4] + 12, 55 + (i % 2) * 10)
        bass.note(t0, H, ch[0] - 24, 80)
        bass.note(t0 + H, H, ch[0] - 24 + 7, 70)
    write("calm", 76, [pad, harp, bass], 16, "Calm", "warm pads and a slow harp arpeggio")


def bright():
    """'bright': marimba ostinato over strings, 104 bpm."""
    prog = [C, Am, Dm, G] * 4
    mar, strings, bass = Track(0, 12, 95), Track(1, 48, 60), Track(2, 33, 90)
    pattern = [0, 2, 1, 2, 0, 2, 1, 2]
    for bar, ch in enumerate(prog):
        t0 = bar * W
        for i, idx in enumerate(pattern):
            mar.note(t0 + i * E, E, ch[idx] + 12, 80 if i % 4 == 0 else 62)
        for p in ch:
            strings.note(t0, W - 10, p - 12, 55)
        bass.note(t0, Q + E, ch[0] - 24, 90)
        bass.note(t0 + 2 * Q, Q, ch[0] - 24, 80)
        bass.note(t0 + 3 * Q, Q, ch[0] - 24 + 7, 75)
    write("bright", 104, [mar, strings, bass], 16, "Bright", "marimba over strings")


def drive():
    """'drive': synth bass eighths, stabs and a four-on-the-floor kick, 124 bpm."""
    prog = [Am, F, C, G] * 4
    lead, bass, drums = Track(0, 81, 70), Track(1, 38, 100), Track(9, 0, 85)
    for bar, ch in enumerate(prog):
        t0 = bar * W
        for i in range(8):
            bass.note(t0 + i * E, E - 30, ch[0] - 24 + (12 if i % 4 == 3 else 0), 96)
        for off in (Q + E, 3 * Q + E):
            for p in ch:
                lead.note(t0 + off, E, p + 12, 65)
        for beat in range(4):
            drums.note(t0 + beat * Q, E, 36, 100)
            drums.note(t0 + beat * Q + E, E // 2, 42, 55)
            if beat in (1, 3):
                drums.note(t0 + beat * Q, E, 39, 70)
    write("drive", 124, [lead, bass, drums], 16, "Drive", "synth bass, stabs, four-on-the-floor kick")


if __name__ == "__main__":
    upbeat()
    calm()
    bright()
    drive()
    import json
    with open(os.path.join(HERE, "beds.json"), "w") as f:
        json.dump(BEDS, f, indent=1)
        f.write("\n")
