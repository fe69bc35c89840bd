"""A deterministic, synthetic product catalogue in the Rakuten France challenge's format (study 2's demo data).

Ten real prdtypecodes with French designations (ambiguous ones borrow a neighbour class's words), ~35 %
missing descriptions, some HTML, imbalanced classes, and per-class synthetic photos (shape, colour, texture,
clutter, noise; ~18 % look like another class). About a third of the photos carry a printed label (a short
French word of the class's vocabulary, accents included) so that an OCR step has something to read. A few
images are missing and a few are corrupt on purpose, so the pipeline's handling of both is exercised.
It is SYNTHETIC: reports that use it say so. Same seed → byte-identical files.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from lib.core.paths import data_dir as default_data_dir
from lib.products.data import RAKUTEN_IMAGES, RAKUTEN_X, RAKUTEN_Y

DEMO_NAME = "demo"
PRINTED_FILE = "printed_labels.csv"  # ground truth of the words printed on the photos (not a challenge file)
VERSION = 3  # bump when the generated files change: cached catalogues are regenerated

# Ten real prdtypecodes with French vocabulary. `near` names the class whose words a listing borrows when it
# is ambiguous (text confusions); the image look is shared with a *different* class (image confusions), so
# the two modalities make different mistakes, as in the real data. `printed`: short words that may appear on
# the package in the photo (category or brand-like words, not always those of the designation).
DEMO_CLASSES: dict[str, dict] = {
    "10": dict(name="livres d'occasion", share=0.14, near="2522",
               nouns=["livre", "roman", "recueil", "essai", "biographie", "tome", "manuel scolaire"],
               words=["édition", "auteur", "poche", "chapitre", "Gallimard", "Folio", "préface", "ancien", "pages"],
               printed=["ROMAN", "Édition", "Folio", "Poche", "Préface"],
               look=dict(shape="rect", hue=0.08, texture="lines")),
    "50": dict(name="accessoires jeux vidéo", share=0.10, near="1300",
               nouns=["manette", "câble de charge", "station de charge", "housse de protection", "volant", "casque gamer"],
               words=["PS4", "Xbox One", "Nintendo Switch", "USB", "sans fil", "compatible", "batterie", "console"],
               printed=["Manette", "Console", "Sans fil", "Gamer", "Jeu vidéo"],
               look=dict(shape="ellipse", hue=0.0, texture="dots")),
    "1140": dict(name="figurines", share=0.09, near="1280",
                 nouns=["figurine", "statuette", "figurine Pop", "buste", "figurine articulée"],
                 words=["Funko", "Marvel", "Dragon Ball", "collection", "vinyle", "personnage", "manga", "édition limitée"],
                 printed=["Figurine", "Collector", "Manga", "Vinyle", "Série limitée"],
                 look=dict(shape="triangle", hue=0.75, texture="none")),
    "1280": dict(name="jouets enfants", share=0.11, near="1140",
                 nouns=["peluche", "poupée", "jouet d'éveil", "puzzle", "hochet", "jeu de construction"],
                 words=["enfant", "bébé", "doux", "dès 3 ans", "coloré", "éducatif", "personnage", "cadeau"],
                 printed=["Bébé", "Éveil", "Jouet", "Dès 3 ans", "Éducatif"],
                 look=dict(shape="circle", hue=0.95, texture="dots")),
    "1300": dict(name="modélisme et drones", share=0.06, near="50",
                 nouns=["drone", "hélicoptère radiocommandé", "voiture RC", "maquette", "hélice de rechange"],
                 words=["batterie LiPo", "télécommande", "2.4GHz", "caméra HD", "moteur brushless", "échelle 1/18"],
                 printed=["Drone", "Hélice", "Modélisme", "Maquette", "Caméra HD"],
                 look=dict(shape="cross", hue=0.55, texture="none")),
    "1560": dict(name="mobilier", share=0.12, near="2060",
                 nouns=["table basse", "chaise", "étagère", "armoire", "tabouret", "bureau", "commode"],
                 words=["bois massif", "chêne", "métal", "design", "salon", "tiroirs", "scandinave", "montage facile"],
                 printed=["Chêne", "Meuble", "Bois massif", "Étagère", "Salon"],
                 look=dict(shape="rect", hue=0.07, texture="checker")),
    "1920": dict(name="linge de maison", share=0.10, near="2060",
                 nouns=["housse de coussin", "oreiller", "taie d'oreiller", "plaid", "housse de couette", "drap"],
                 words=["coton", "45x45 cm", "canapé", "doux", "lavable", "motif", "lin", "décoration"],
                 printed=["Coton", "Linge", "Douceur", "Lavable", "Oreiller"],
                 look=dict(shape="rect", hue=0.85, texture="stripes")),
    "2060": dict(name="décoration", share=0.12, near="1920",
                 nouns=["guirlande lumineuse", "cadre photo", "vase", "bougie parfumée", "sticker mural", "lampe"],
                 words=["LED", "décoration", "salon", "design", "Noël", "intérieur", "coton", "bois"],
                 printed=["Déco", "Lumière", "Noël", "Intérieur", "Bougie"],
                 look=dict(shape="star", hue=0.13, texture="none")),
    "2522": dict(name="papeterie", share=0.08, near="10",
                 nouns=["carnet", "cahier", "agenda", "stylo", "classeur", "bloc-notes"],
                 words=["A5", "pages", "ligné", "couverture rigide", "papier", "bureau", "école", "encre"],
                 printed=["Cahier", "Carnet", "Agenda", "Écolier", "Papeterie"],
                 look=dict(shape="ellipse", hue=0.02, texture="lines")),
    "2583": dict(name="piscine et spa", share=0.08, near="1560",
                 nouns=["pompe de filtration", "bâche de piscine", "robot de piscine", "filtre à sable", "spa gonflable"],
                 words=["piscine", "chlore", "hors-sol", "skimmer", "m3/h", "jardin", "été", "eau"],
                 printed=["Piscine", "Spa", "Été", "Filtration", "Chlore"],
                 look=dict(shape="circle", hue=0.58, texture="waves")),
}
_ADJECTIVES = ["noir", "blanc", "bleu", "rouge", "vert", "gris", "grand", "petit", "neuf", "premium", "classique"]
_BRANDS = ["Générique", "Lexibook", "Ikea", "Hama", "Intex", "Bestway", "Clairefontaine", "Atmosphera", "Sony", "Bandai"]
_FILLER = ["Livraison rapide", "Produit de qualité", "Idéal pour offrir", "Garantie 2 ans", "Très bon état",
           "Dimensions indiquées en photo", "Article neuf sous emballage", "Satisfait ou remboursé"]
# Image looks are shared between these (different from the text neighbours above).
_IMAGE_NEAR = {"10": "1560", "1560": "10", "50": "2522", "2522": "50", "1280": "2583", "2583": "1280",
               "1140": "2060", "2060": "1140", "1300": "1920", "1920": "1300"}


def _demo_text(rng: np.random.Generator, code: str, ambiguous: bool) -> tuple[str, str | None]:
    """A French designation and an optional HTML description for one listing of class `code`."""
    spec = DEMO_CLASSES[code]
    src = DEMO_CLASSES[spec["near"]] if ambiguous else spec
    noun = rng.choice(src["nouns"])
    words = list(rng.choice(spec["words"], size=2, replace=False))
    if ambiguous:  # borrow the neighbour's vocabulary too: the text alone is misleading
        words = list(rng.choice(src["words"], size=2, replace=False))
    designation = f"{noun.capitalize()} {rng.choice(_ADJECTIVES)} {words[0]} - {rng.choice(_BRANDS)}"
    if rng.random() < 0.35:  # the original data misses ~35 % of descriptions
        return designation, None
    body_words = list(rng.choice(spec["words"], size=3, replace=False)) + list(rng.choice(src["words"], size=1))
    sentences = [f"{noun.capitalize()} {' '.join(body_words[:2])}.", f"{rng.choice(_FILLER)} ; {body_words[2]}, {body_words[3]}.",
                 f"{rng.choice(_FILLER)}."]
    if rng.random() < 0.5:  # listings scraped with their HTML, entities included
        desc = "<p>" + "<br />".join(sentences) + "</p>"
        desc = desc.replace("é", "&eacute;", 1)
    else:
        desc = " ".join(sentences)
    return designation, desc


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1))
    return int(r * 255), int(g * 255), int(b * 255)


@lru_cache(maxsize=8)
def _font(size: int):
    """DejaVu Sans Bold at `size` px: matplotlib ships it, so no system font is needed."""
    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"), size)


def _print_label(img, text: str, centre: tuple[float, float], half: float, rng: np.random.Generator):
    """Print `text` (dark on light paper, slightly tilted) on a band wrapped around the package at `centre`.

    Sized so that tesseract reads it once the 128 px photo is upscaled 4x (font of 11-16 px here). The band
    is wider than the package (`half` = its half-size): a light label *enclosed* in a large dark shape is
    taken for part of a picture by tesseract's page layout analysis and not read. Measured on 100 printed
    photos: ~80 % of the words read exactly (accents included) as sparse text (`--psm 11`, greyscale),
    ~50 % with tesseract's default layout analysis.
    """
    from PIL import Image, ImageDraw

    size = img.width
    font_px = int(rng.integers(13, 17))  # measured: tesseract reads 13-15 px letters best once upscaled 4x
    while font_px > 11 and _font(font_px).getlength(text) > size * 0.8:
        font_px -= 1
    font = _font(font_px)
    left, top, right, bottom = font.getbbox(text)
    pad = max(4, font_px // 3)
    text_w, text_h = int(right - left), int(bottom - top)
    w = int(min(size - 4, max(text_w + 2 * pad, 2.6 * half)))
    h = text_h + 2 * pad
    paper = _hsv(rng.uniform(0.05, 0.2), rng.uniform(0.0, 0.15), rng.uniform(0.92, 1.0))
    ink = _hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.05, 0.25))
    band = Image.new("RGB", (w, h), paper)
    ImageDraw.Draw(band).text(((w - text_w) // 2 - left, pad - top), text, font=font, fill=ink)
    mask = Image.new("L", (w, h), 255)
    angle = float(rng.uniform(-5, 5))
    band = band.rotate(angle, expand=True, resample=Image.BICUBIC, fillcolor=paper)
    mask = mask.rotate(angle, expand=True, resample=Image.BICUBIC)
    x = int(np.clip(centre[0] - band.width / 2, 1, max(1, size - band.width - 1)))
    y = int(np.clip(centre[1] - band.height / 2 + rng.normal(0, 3), 1, size - band.height - 1))
    img.paste(band, (x, y), mask)
    return img


def _demo_image(rng: np.random.Generator, code: str, size: int = 128, printed: str | None = None,
                print_rng: np.random.Generator | None = None):
    """A synthetic product photo: a class-typical shape, colour and texture, with clutter and noise.

    `printed` (drawn with `print_rng`, so the main stream `rng` is the same with or without it): a word
    printed on a sticker on the package.
    """
    from PIL import Image, ImageDraw, ImageFilter

    look = dict(DEMO_CLASSES[code]["look"])
    if rng.random() < 0.18:  # some photos look like another class (packaging, odd angles)
        other = DEMO_CLASSES[_IMAGE_NEAR[code]]["look"]
        if rng.random() < 0.5:
            look = dict(other)
        else:
            key = ("shape", "texture", "hue")[int(rng.integers(3))]
            look[key] = other[key]
    bg = _hsv(rng.random(), rng.uniform(0, 0.25), rng.uniform(0.75, 1.0))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 4))):  # background clutter
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(4, 16))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_hsv(rng.random(), 0.3, 0.8))
    colour = _hsv(look["hue"] + rng.normal(0, 0.04), rng.uniform(0.45, 0.95), rng.uniform(0.45, 0.95))
    cx, cy = size / 2 + rng.normal(0, size * 0.08, 2)
    half = size * rng.uniform(0.22, 0.36)
    aspect = rng.uniform(0.6, 1.4)
    box = [cx - half, cy - half * aspect, cx + half, cy + half * aspect]
    shape = look["shape"]
    mask = Image.new("L", (size, size), 0)
    mdraw = ImageDraw.Draw(mask)
    if shape == "rect":
        mdraw.rectangle(box, fill=255)
    elif shape == "ellipse":
        mdraw.ellipse([cx - half, cy - half * 0.55, cx + half, cy + half * 0.55], fill=255)
    elif shape == "circle":
        mdraw.ellipse([cx - half, cy - half, cx + half, cy + half], fill=255)
    elif shape == "triangle":
        mdraw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=255)
    elif shape == "cross":
        w = half * 0.35
        mdraw.rectangle([cx - half, cy - w, cx + half, cy + w], fill=255)
        mdraw.rectangle([cx - w, cy - half, cx + w, cy + half], fill=255)
    elif shape == "star":
        angles = np.linspace(0, 2 * np.pi, 11)[:-1] + rng.uniform(0, np.pi)
        radii = np.where(np.arange(10) % 2 == 0, half, half * 0.45)
        mdraw.polygon([(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radii)], fill=255)
    mask = mask.rotate(float(rng.uniform(-30, 30)), center=(cx, cy))
    layer = Image.new("RGB", (size, size), colour)
    tdraw = ImageDraw.Draw(layer)
    dark = tuple(int(c * 0.45) for c in colour)
    step = int(rng.integers(6, 12))
    texture = look["texture"]
    if texture == "stripes":
        for x in range(-size, size, step):
            tdraw.line([(x, 0), (x + size, size)], fill=dark, width=2)
    elif texture == "lines":
        for y in range(0, size, step):
            tdraw.line([(0, y), (size, y)], fill=dark, width=1)
    elif texture == "dots":
        for x in range(step // 2, size, step):
            for y in range(step // 2, size, step):
                tdraw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=dark)
    elif texture == "checker":
        for x in range(0, size, step):
            for y in range(0, size, step):
                if (x // step + y // step) % 2:
                    tdraw.rectangle([x, y, x + step - 1, y + step - 1], fill=dark)
    elif texture == "waves":
        xs = np.arange(size)
        for y0 in range(0, size, step):
            pts = [(int(x), int(y0 + 3 * np.sin(x / 5.0))) for x in xs[::2]]
            tdraw.line(pts, fill=dark, width=2)
    img.paste(layer, (0, 0), mask)
    noise = rng.standard_normal((size, size, 3), dtype=np.float32) * 12.0
    arr = np.asarray(img, dtype=np.float32)
    arr += noise
    np.clip(arr, 0, 255, out=arr)
    img = Image.fromarray(arr.astype(np.uint8))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 1.5))))
    if printed:  # last: a sharp print (blur and noise at 128 px make most words unreadable to tesseract)
        img = _print_label(img, printed, (float(cx), float(cy)), float(half), print_rng or np.random.default_rng(0))
    return img


def demo_folder(n: int, seed: int, classes: Sequence[str] | None = None) -> Path:
    """Where the demo catalogue of these settings is written: `data/demo/rakuten_demo_n<n>_seed<seed>[_c<codes>]`."""
    tag = "" if classes is None else "_c" + "-".join(sorted(map(str, classes)))
    return default_data_dir() / DEMO_NAME / f"rakuten_demo_n{n}_seed{seed}{tag}"


def generate_demo_catalogue(folder: str | Path | None = None, n: int = 1200, seed: int = 42,
                            missing_image_rate: float = 0.02, unreadable_images: int = 3,
                            image_size: int = 128, printed_rate: float = 0.35,
                            classes: Sequence[str] | None = None, force: bool = False) -> Path:
    """Write a synthetic catalogue in the Rakuten challenge's format (two CSVs + images); deterministic.

    Args:
        folder: output folder (default `demo_folder(n, seed, classes)`); reused when complete with the same settings.
        n: number of listings.
        seed: the generator's seed (same seed → same files).
        missing_image_rate / unreadable_images: listings without an image file / with a corrupt one.
        printed_rate: share of listings whose photo carries a printed word of its class (for OCR); drawn
            from a stream of its own, so the texts and the other photos do not depend on it.
        classes: a subset of `DEMO_CLASSES` codes (e.g. two, for a binary problem); None keeps all ten.

    Returns:
        the folder (it holds `X_train_update.csv`, `Y_train_CVw08PX.csv`, `images/image_train/`, and
        `printed_labels.csv`: productid, imageid and the printed word of every labelled photo).
    """
    from tqdm.auto import tqdm

    codes = list(DEMO_CLASSES) if classes is None else [str(c) for c in classes]
    unknown = sorted(set(codes) - set(DEMO_CLASSES))
    if unknown or len(set(codes)) < 2:
        raise ValueError(f"classes must name at least two distinct codes of {list(DEMO_CLASSES)}; got {codes}")
    codes = sorted(set(codes), key=list(DEMO_CLASSES).index)
    if not 0.0 <= printed_rate <= 1.0:
        raise ValueError(f"printed_rate must be in [0, 1], got {printed_rate}")
    folder = Path(folder) if folder is not None else demo_folder(n, seed, None if classes is None else codes)
    marker = folder / "COMPLETE.json"
    meta = dict(n=n, seed=seed, missing_image_rate=missing_image_rate, unreadable_images=unreadable_images,
                image_size=image_size, printed_rate=printed_rate, classes=codes, synthetic=True, version=VERSION)
    if marker.is_file() and not force and json.loads(marker.read_text()) == meta:
        return folder
    images = folder / RAKUTEN_IMAGES
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    print_rng = np.random.default_rng([seed, 1])  # its own stream: printing does not shift the others
    shares = np.array([DEMO_CLASSES[c]["share"] for c in codes])
    labels = rng.choice(codes, size=n, p=shares / shares.sum())
    # every class present at least 8 times, so stratified splits work even for small n
    floor = min(8, n // len(codes))
    for i, c in enumerate(codes):
        labels[i * floor:(i + 1) * floor] = c
    labels = rng.permutation(labels)
    # unique, shuffled ids in the challenge's ranges (cumulative random gaps)
    productids = rng.permutation(10**8 + np.cumsum(rng.integers(1, 3 * 10**6, size=n)))
    imageids = rng.permutation(9 * 10**8 + np.cumsum(rng.integers(1, 10**6, size=n)))
    no_image = rng.random(n) < missing_image_rate
    corrupt = set(rng.choice(np.flatnonzero(~no_image), size=min(unreadable_images, int((~no_image).sum())),
                             replace=False).tolist())
    printed = print_rng.random(n) < printed_rate
    rows, stickers = [], []
    for i in tqdm(range(n), desc="demo catalogue (synthetic)", unit="listing", mininterval=1.0):
        code = str(labels[i])
        designation, description = _demo_text(rng, code, ambiguous=rng.random() < 0.15)
        rows.append((designation, description, int(productids[i]), int(imageids[i])))
        word = str(print_rng.choice(DEMO_CLASSES[code]["printed"])) if printed[i] else None
        img = _demo_image(rng, code, image_size, word, print_rng)  # drawn even when not saved: same stream
        if no_image[i]:
            continue
        path = images / f"image_{imageids[i]}_product_{productids[i]}.jpg"
        img.save(path, format="JPEG", quality=90)
        if i in corrupt:  # a truncated download
            path.write_bytes(path.read_bytes()[:300])
        elif word:
            stickers.append((int(productids[i]), int(imageids[i]), word))
    x = pd.DataFrame(rows, columns=["designation", "description", "productid", "imageid"])
    x.to_csv(folder / RAKUTEN_X)
    pd.DataFrame({"prdtypecode": labels.astype(int)}).to_csv(folder / RAKUTEN_Y)
    pd.DataFrame(stickers, columns=["productid", "imageid", "printed"]).to_csv(folder / PRINTED_FILE, index=False)
    (folder / "README.txt").write_text(
        "SYNTHETIC demo catalogue generated by lib.products.demo.generate_demo_catalogue "
        f"(n={n}, seed={seed}, classes={codes}). Not real listings; same format as the Rakuten France challenge "
        f"files. {PRINTED_FILE} lists the words printed on the photos (ground truth for OCR).\n")
    marker.write_text(json.dumps(meta))
    return folder
