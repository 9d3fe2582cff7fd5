"""Deterministic English-like input text for COMMAND's stdin (--stdin-text,
--gen-text)."""


# ---------------------------------------------------------------------------
# Deterministic input text for COMMAND's stdin (--stdin-text)

WORDS = (
    "the of and to a in is it you that he was for on are with as i his they be "
    "at one have this from or had by hot word but what some we can out other "
    "were all there when up use your how said an each she which do their time "
    "if will way about many then them write would like so these her long make "
    "thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been "
    "now find any new work part take get place made live where after back "
    "little only round man year came show every good me give our under name "
    "very through just form sentence great think say help low line differ turn "
    "cause much mean before move right boy old too same tell does set three "
    "want air well also play small end put home read hand port large spell add "
    "even land here must big high such follow act why ask men change went light "
    "kind off need house picture try us again animal point mother world near "
    "build self earth father head stand own page should country found answer "
    "school grow study still learn plant cover food sun four between state keep "
    "eye never last let thought city tree cross farm hard start might story saw "
    "far sea draw left late run while press close night real life few north "
    "memory table walk entry cache miss hit translation lookaside buffer "
    "virtual physical address frame kernel process thread load store modify "
    "instruction fetch level directory huge region"
).split()


SYLLABLES = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go "
    "gu ha he hi ho hu ja jo ka ke ki ko la le li lo lu ma me mi mo mu na ne "
    "ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va "
    "ve vi vo wa we wi xa ya yo za zo ar er ir or ur an en in on un al el il "
    "ol ul as es is os us at et it ot ut ch sh th st tr pr gr bl cr fl"
).split()


class ParkMiller:
    """Minimal standard generator x = x * 16807 mod (2^31 - 1): exact in any
    language, so the text below is the same everywhere."""

    M = 2147483647

    def __init__(self, seed):
        self.x = seed % self.M or 1

    def next(self, n):
        self.x = self.x * 16807 % self.M
        return self.x % n


def generate_text(nbytes, seed):
    """Yield chunks totalling exactly `nbytes` bytes of English-like text: a
    lexicon of the common words above, topped up to 4096 words with made-up
    words of 1-4 syllables, drawn roughly Zipf-like (index uniform below a
    power of two that is itself uniform in 2..4096, so the common words make
    up about two thirds of the text), in sentences of 3-16 words, four
    sentences to a line, some numbers.  Integer arithmetic only: a pure
    function of (nbytes, seed)."""
    rng = ParkMiller(seed)
    lexicon = list(WORDS)
    while len(lexicon) < 4096:
        lexicon.append("".join(SYLLABLES[rng.next(len(SYLLABLES))]
                               for _ in range(1 + rng.next(4))))
    done = 0
    sentences = 0
    while done < nbytes:
        parts = []
        for _ in range(256):
            words = []
            for _ in range(3 + rng.next(14)):
                words.append(lexicon[rng.next(1 << (1 + rng.next(12)))])
            r = rng.next(10)
            tail = f" {rng.next(100000)}." if r == 0 else ("?" if r == 1 else ".")
            sentence = " ".join(words)
            parts.append(sentence[0].upper() + sentence[1:] + tail)
            sentences += 1
            parts.append("\n" if sentences % 4 == 0 else " ")
        chunk = "".join(parts).encode("ascii")[: nbytes - done]
        done += len(chunk)
        yield chunk
