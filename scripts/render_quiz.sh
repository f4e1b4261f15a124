#!/bin/sh
# Render a generated Word paper to PNG pages to look at it (LibreOffice -> PDF -> pdftoppm).
# Needs: apt-get install libreoffice-writer-nogui poppler-utils fonts-noto-cjk
# Usage: scripts/render_quiz.sh quiz.docx [out-folder]   (writes out-folder/<name>-<page>.png)
set -eu
docx="$1"
out="${2:-$(dirname "$docx")}"
mkdir -p "$out"
soffice --headless --convert-to pdf --outdir "$out" "$docx" >/dev/null
pdf="$out/$(basename "${docx%.*}").pdf"
pdftoppm -png -r 100 "$pdf" "$out/$(basename "${docx%.*}")"
ls "$out"/*.png
