# syntax=docker/dockerfile:1
# The silo host (silo/SslOrleans.Silo), CPU build. From the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t sslo-silo:dev .
# tests/SslOrleans.Grains.Tests/Deploy/DockerfileTests.cs starts artifacts/silo the way this file's WORKDIR, ENV and
# ENTRYPOINT say, and runs its HEALTHCHECK against it: keep the two in step.

# Build stage: the same publish command as `make build` (Makefile), into the same folder. Both stages are Ubuntu 24.04
# ("noble", the .NET 10 default): its libstdc++ (GCC 14) has GLIBCXX_3.4.32, so build/TorchSharpLoaderFix.targets,
# which patches libLibTorchSharp.so only where the build machine's libstdc++ lacks that version, leaves it as NuGet
# ships it, and the runtime stage (same distro) loads it unpatched. Keep both tags on one distro.
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
# Opt-in CUDA build (deploy/k8s/gpu): --build-arg SSLO_PUBLISH_FLAGS=-p:SslCuda=true, which needs TorchSharp-cuda-linux
# from a NuGet feed that serves it. The default is the CPU build.
ARG SSLO_PUBLISH_FLAGS=""
WORKDIR /src
COPY . .
RUN dotnet publish silo/SslOrleans.Silo -c Release -o artifacts/silo --nologo -v q $SSLO_PUBLISH_FLAGS

# Runtime stage: the ASP.NET Core runtime, because the silo serves its HTTP endpoint with Kestrel (a FrameworkReference
# to Microsoft.AspNetCore.App in src/SslOrleans.Hosting); the plain runtime image lacks that shared framework.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble
# Refuse an image whose libstdc++ cannot load the unpatched TorchSharp library (e.g. a Debian 12 base): see above.
RUN grep -qa 'GLIBCXX_3\.4\.32' /usr/lib/*-linux-gnu/libstdc++.so.6
WORKDIR /app
COPY --from=build /src/artifacts/silo/ /app/
# "auto": the container's own address (compose replicas share one configuration; under Kubernetes the pod's POD_IP).
# A routable address also makes the silo, gateway and HTTP ports listen on every interface.
ENV Silo__AdvertisedIP=auto \
    Silo__SiloPort=11111 \
    Silo__GatewayPort=30000 \
    Silo__HttpPort=9464
EXPOSE 11111 30000 9464
# The non-root user of the .NET images (uid 1654).
USER $APP_UID
# The runtime images have no curl: the silo checks itself (GET /healthz/live on Silo:HttpPort, exit 0 or 1).
HEALTHCHECK --interval=15s --timeout=10s --start-period=90s --retries=3 CMD ["dotnet", "SslOrleans.Silo.dll", "--health-check"]
ENTRYPOINT ["dotnet", "SslOrleans.Silo.dll"]
