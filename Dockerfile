# ReviewBot container: the native-AOT binary on Ubuntu's chiseled runtime-deps image (no shell, no
# package manager, OpenSSL included, non-root user `app`, UID 1654).
# Build:  docker build -t reviewbot .
# Run:    docker compose up -d   (see docker-compose.yml and README.md)

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
# Native AOT links with the platform toolchain: clang as the linker driver, zlib for System.IO.Compression.
# https://learn.microsoft.com/dotnet/core/deploying/native-aot/#prerequisites
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Restore first, from the project files alone, so a source change does not re-download packages.
COPY global.json Directory.Build.props ./
COPY src/ReviewBot/ReviewBot.csproj src/ReviewBot/
RUN dotnet restore src/ReviewBot/ReviewBot.csproj -r linux-x64

# schema.sql is embedded in the binary (applied at start by `serve` and `migrate`).
COPY schema.sql ./
COPY src/ReviewBot/ src/ReviewBot/
RUN dotnet publish src/ReviewBot/ReviewBot.csproj -c Release -r linux-x64 --no-restore -o /out \
    && test -x /out/ReviewBot

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
WORKDIR /app
# Owned by root and not writable by the user it runs as.
COPY --from=build /out/ReviewBot /app/ReviewBot
# The numeric id of the image's `app` user, so Kubernetes' runAsNonRoot can verify it.
USER 1654:1654
ENV PORT=3000
EXPOSE 3000
# No shell or curl in a chiseled image: the binary checks itself (GET /health, exit 0 on 200).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/app/ReviewBot", "healthcheck"]
# SIGTERM lets in-flight reviews finish for SHUTDOWN_TIMEOUT_SECONDS, then hands back the rest.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/ReviewBot"]
CMD ["serve"]
