FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY server ./server
COPY rooms ./rooms
COPY scheduling ./scheduling
COPY web ./web
RUN pip install .
RUN useradd --system --home /var/lib/yizhan yizhan && mkdir -p /var/lib/yizhan \
    && chown yizhan /var/lib/yizhan
USER yizhan
EXPOSE 8080 40000-40199/udp
CMD ["yizhan", "serve", "--host", "0.0.0.0"]
