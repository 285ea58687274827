# Build: the SDK image plus npm, which the build uses to fetch ONNX Runtime's native library.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish server/InferenceServer/InferenceServer.csproj -c Release -o /app

# Run: the ASP.NET runtime, the published server (libonnxruntime.so.1 sits beside it) and the sample models.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
COPY models /models
EXPOSE 8000 8001 8002
ENTRYPOINT ["./inference-server", "serve"]
CMD ["--model-repository", "/models"]
