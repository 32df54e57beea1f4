# The bot's image: the official FreqTrade FreqAI image, pinned to the release the tests run on,
# plus this project. Code lives in the image; state lives in the mounted user_data/ volume.
#
# Tag scheme (freqtrade's release CI, build_helpers/publish_docker_multi.sh): a release's git tag
# becomes the image tag (`2026.9`) and the FreqAI variant appends `_freqai`
# (TAG_FREQAI=${TAG}_freqai). Never `stable_freqai`: a moving tag changes the bot under you.
FROM freqtradeorg/freqtrade:2026.9_freqai

# The image runs as its non-root user `ftuser` (uid 1000). Nothing here needs root; should a
# system package ever be needed: `USER root`, `RUN apt-get ...`, then `USER ftuser` again.
USER ftuser
WORKDIR /freqtrade

# Python packages: the image's FreqTrade with our exact pins on top (pyproject.toml, the money-
# deciding ones, and constraints.txt for what they pull in). pins.py verify fails the build when
# any pinned package still differs. --ignore-requires-python: pyproject pins the dev venv's
# Python (3.11); the image's Python is whatever FreqTrade 2026.9 ships.
COPY --chown=ftuser:ftuser pyproject.toml constraints.txt README.md /tmp/statarb/
COPY --chown=ftuser:ftuser src/ /tmp/statarb/src/
RUN pip install --user --no-cache-dir -c /tmp/statarb/constraints.txt \
        $(python /tmp/statarb/src/statarb/ops/pins.py install-list /tmp/statarb/pyproject.toml) \
    && pip install --user --no-cache-dir --no-deps --ignore-requires-python /tmp/statarb \
    && python /tmp/statarb/src/statarb/ops/pins.py verify /tmp/statarb/pyproject.toml \
    && rm -rf /tmp/statarb

# The strategy outside user_data/ (the volume would hide or shadow it); FreqTrade reads
# FREQTRADE__STRATEGY_PATH as config key strategy_path and searches it first.
COPY --chown=ftuser:ftuser user_data/strategies/ /freqtrade/strategies/
COPY --chown=ftuser:ftuser scripts/ /freqtrade/scripts/
RUN python -c "import runpy; runpy.run_path('/freqtrade/strategies/CointPairsStrategy.py')"

ENV FREQTRADE__STRATEGY_PATH=/freqtrade/strategies \
    PYTHONUNBUFFERED=1 \
    TZ=UTC

# Ping proves the API thread answers; the daily check asks /api/v1/health for the loop itself.
HEALTHCHECK --interval=60s --timeout=10s --start-period=2m --retries=5 \
    CMD ["python", "-m", "statarb.ops.healthcheck"]

# Preflight, then scripts/state_recovery.py, then `exec freqtrade <CMD>` so FreqTrade is PID 1
# and receives docker's SIGTERM (src/statarb/ops/entrypoint.py). The official ENTRYPOINT is
# `freqtrade`, which would swallow a compose `command: sh -c ...` (docs/design.md §6.1).
ENTRYPOINT ["python", "/freqtrade/scripts/entrypoint.py"]
CMD ["trade", "--config", "/freqtrade/config.json", "--logfile", "/freqtrade/user_data/logs/freqtrade.log"]
