# syntax=docker/dockerfile:1
# The sslo CLI (client/SslOrleans.Cli), CPU build. From the repository root:
#   docker build -f deploy/docker/cli.Dockerfile -t sslo-cli:dev .
#   docker run --rm sslo-cli:dev runs --cluster redis://redis:6379
# tests/SslOrleans.Grains.Tests/Deploy/DockerfileTests.cs runs artifacts/bin the way this file says, with --help.

# Build stage: the same publish command as `make build`; Ubuntu 24.04 in both stages (see silo.Dockerfile on the
# TorchSharp loader fix: a no-op on this distro).
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY . .
RUN dotnet publish client/SslOrleans.Cli -c Release -o artifacts/bin --nologo -v q

# ASP.NET Core runtime: the CLI hosts the embedded cluster, whose silo has the same Kestrel endpoint.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble
RUN grep -qa 'GLIBCXX_3\.4\.32' /usr/lib/*-linux-gnu/libstdc++.so.6
WORKDIR /app
COPY --from=build /src/artifacts/bin/ /app/
USER $APP_UID
# Runs go to a writable folder of the non-root user unless --out says otherwise.
WORKDIR /home/app
ENTRYPOINT ["dotnet", "/app/sslo.dll"]
