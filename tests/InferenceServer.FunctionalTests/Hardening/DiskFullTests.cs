using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using InferenceServer.FunctionalTests.Hosting;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// An upload that does not fit on the disk: the load must fail with a clear error naming the cause, load nothing, leave
/// no partial files, and the server must keep serving (and accept an upload that fits afterwards). The upload folder
/// is a 1 MiB tmpfs when the test may mount one (root with CAP_SYS_ADMIN, as in the development VM and CI); elsewhere
/// the server runs with a 1 MiB file-size limit (ulimit -f, SIGXFSZ ignored), so the write fails with EFBIG instead
/// of ENOSPC, which .NET reports as an ArgumentOutOfRangeException rather than an IOException: a different errno the
/// server must handle as well. The second case always takes that route, so both errnos are tried wherever tmpfs
/// mounts. The output says which one ran.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output)
{
    private static readonly string[] FreePorts = ["--http-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"];

    private const string Config = """
        {"name": "big", "backend": "onnxruntime", "max_batch_size": 4,
         "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": [16]}]}
        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_upload_that_fills_the_disk_fails_cleanly_and_the_server_keeps_serving(bool tmpfsIfPossible)
    {
        using var repository = new TestRepository().AddSample("simple");
        using var uploads = new TestRepository();
        var mounted = tmpfsIfPossible && TryMountTmpfs(uploads.Path, "1m");
        try
        {
            output.WriteLine(mounted ? "upload folder: a 1 MiB tmpfs (ENOSPC)" : "upload folder: not mountable here; the server runs with ulimit -f 2048, 1 MiB (EFBIG)");
            using var server = ServerProcess.Start(
                ["serve", "--model-repository", repository.Path, "--model-control-mode", "explicit", "--load-model", "simple", .. FreePorts],
                mounted
                    ? new Dictionary<string, string> { ["Server__UploadDirectory"] = uploads.Path }
                    // The runtime's W^X double mapping sizes a memory file past any small file-size limit (it fails to
                    // start: "Out Of Memory"); without it the limit applies to the files the server writes.
                    : new Dictionary<string, string> { ["Server__UploadDirectory"] = uploads.Path, ["DOTNET_EnableWriteXorExecute"] = "0" },
                // 2048 blocks of 512 bytes (1 MiB); the ignored SIGXFSZ survives exec, so the write fails instead of killing the server.
                shell: mounted ? null : "trap '' XFSZ; ulimit -f 2048");
            using var client = await server.HttpClientAsync();
            await server.WaitForOutputAsync(new System.Text.RegularExpressions.Regex("Ready: serving"));

            // 2 MiB of weights beside the model: twice what fits.
            var tooBig = Body(("1/model.onnx", TestRepository.Fixture("add_sub.onnx")), ("1/weights.bin", new byte[2 << 20]));
            var response = await client.PostAsync("/v2/repository/models/big/load", new StringContent(tooBig, Encoding.UTF8, "application/json"));
            var error = await response.Content.ReadAsStringAsync();
            output.WriteLine($"load: {(int)response.StatusCode} {error}");

            Assert.True(response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.InsufficientStorage or HttpStatusCode.RequestEntityTooLarge,
                $"a full disk should be a clear refusal, got {(int)response.StatusCode}: {error}");
            var message = JsonDocument.Parse(error).RootElement.GetProperty("error").GetString()!;
            Assert.True(message.Contains("space", StringComparison.OrdinalIgnoreCase) || message.Contains("disk was full", StringComparison.OrdinalIgnoreCase) || message.Contains("too large", StringComparison.OrdinalIgnoreCase),
                $"the error should say the disk is full: {message}");
            Assert.DoesNotContain(uploads.Path, message);
            Assert.False(server.HasExited, "the server died");

            // Nothing partial: not loaded, and nothing left in the upload folder.
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v2/models/big/ready")).StatusCode);
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(uploads.Path), e => Path.GetFileName(e) != "lost+found");

            // Still serving, and an upload that fits goes through.
            Assert.Equal("1", await Lifecycle.Lifecycle.InferAddSubAsync(client, "simple"));
            var fits = await client.PostAsync("/v2/repository/models/big/load", new StringContent(Body(("1/model.onnx", TestRepository.Fixture("add_sub.onnx"))), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
            Assert.Equal("1", await Lifecycle.Lifecycle.InferAddSubAsync(client, "big"));
        }
        finally
        {
            if (mounted)
            {
                Run("umount", "-l", uploads.Path);
            }
        }
    }

    private static string Body(params (string Path, byte[] Content)[] files)
    {
        var parameters = new Dictionary<string, string> { ["config"] = Config };
        foreach (var (path, content) in files)
        {
            parameters["file:" + path] = Convert.ToBase64String(content);
        }
        return JsonSerializer.Serialize(new { parameters });
    }

    private static bool TryMountTmpfs(string path, string size) =>
        OperatingSystem.IsLinux() && Environment.UserName == "root" && Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0777", "tmpfs", path) == 0;

    private static int Run(string command, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit(10_000);
            return process.HasExited ? process.ExitCode : -1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
