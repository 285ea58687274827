using InferenceServer.LibTorch;

namespace InferenceServer.UnitTests.LibTorch;

public sealed class TorchErrorsTests
{
    [Fact]
    public void TheReasonIsTheLastErrorLineOfTheInterpretersTracebackWithoutTheCxxFrames()
    {
        const string message = """
            The following operation failed in the TorchScript interpreter.
            Traceback of TorchScript, serialized code (most recent call last):
              File "code/__torch__.py", line 10, in forward
                hidden = self.hidden
                _0 = torch.relu((hidden).forward(x, ))
            RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x5 and 4x16)
            Exception raised from meta at aten/src/ATen/native/LinearAlgebra.cpp:190 (most recent call first):
            frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9d (0x7f in libc10.so)
            """;

        Assert.Equal("RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x5 and 4x16)", TorchErrors.Reason(message));
    }

    [Fact]
    public void WithoutAnErrorLineTheReasonIsTheFirstLine() =>
        Assert.Equal("PytorchStreamReader failed reading zip archive: failed finding central directory",
            TorchErrors.Reason("PytorchStreamReader failed reading zip archive: failed finding central directory\nException raised from valid at caffe2/serialize/inline_container.cc:236"));
}
