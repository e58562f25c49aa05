# Huiqian service image: the API (`huiqian serve`), the job worker (`huiqian worker`) and
# one-shot commands (`huiqian db upgrade`, `huiqian deploy …`, `huiqian user add …`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # bpmn/ (process library, forms, jurisdiction packs) is located relative to the engine and
    # services packages, so the source tree, not the installed copy, must be imported.
    PYTHONPATH=/app \
    HUIQIAN_DATA_DIR=/app/instance

WORKDIR /app

RUN useradd --system --create-home --uid 10001 huiqian

COPY pyproject.toml README.md ./
COPY engine/ engine/
COPY services/ services/
COPY webhooks/ webhooks/
RUN pip install . && mkdir -p /app/instance && chown huiqian:huiqian /app/instance

COPY bpmn/ bpmn/

USER huiqian
EXPOSE 8000
CMD ["huiqian", "serve", "--host", "0.0.0.0", "--port", "8000"]
