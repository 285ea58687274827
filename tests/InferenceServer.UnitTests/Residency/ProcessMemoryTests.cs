using System.Runtime.InteropServices;
using InferenceServer.Core.Residency;

namespace InferenceServer.UnitTests.Residency;

/// <summary>
/// What a load's CPU footprint is measured with, against real allocations: the resident high-water mark that gives a
/// load's peak, and the trim that gives an unloaded model's memory back to the system (glibc keeps freed blocks otherwise).
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed unsafe class ProcessMemoryTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public void The_peak_after_a_reset_counts_memory_held_and_freed_since_which_the_resident_size_no_longer_shows()
    {
        Assert.True(OperatingSystem.IsLinux(), "the server measures footprints through /proc; these tests run on Linux");
        Assert.True(ProcessMemory.ResetPeak());
        var before = ProcessMemory.ResidentBytes();
        // 64 MiB is above glibc's largest mmap threshold: its own mapping, unmapped again by the free.
        var block = (byte*)NativeMemory.Alloc(64 * MiB);
        Touch(block, 64 * MiB);
        NativeMemory.Free(block);

        var peak = ProcessMemory.PeakResidentBytes();
        Assert.NotNull(peak);
        Assert.True(peak - before >= 60 * MiB, $"peak {peak} should be at least 60 MiB over {before}");
        Assert.True(ProcessMemory.ResidentBytes() < peak - (32 * MiB), "the block is freed: the resident size is back down, the peak is not");

        // A new reset starts from what is held now.
        Assert.True(ProcessMemory.ResetPeak());
        Assert.True(ProcessMemory.PeakResidentBytes() < peak - (32 * MiB));
    }

    [Fact]
    public void A_trim_gives_back_freed_blocks_that_glibc_keeps_between_live_ones()
    {
        Assert.True(OperatingSystem.IsLinux(), "the server measures footprints through /proc; these tests run on Linux");
        Assert.True(NativeHeap.CanTrim, "Debian's C library is glibc");
        // 2,048 blocks of 64 KiB (below the mmap threshold: they come from an arena), every other one freed: 64 MiB of
        // holes that free() does not return, as an unloaded model's weights between the blocks other models still hold.
        const int Count = 2048;
        const int Size = 64 * 1024;
        var blocks = new byte*[Count];
        for (var i = 0; i < Count; i++)
        {
            blocks[i] = (byte*)NativeMemory.Alloc(Size);
            Touch(blocks[i], Size);
        }
        try
        {
            for (var i = 0; i < Count; i += 2)
            {
                NativeMemory.Free(blocks[i]);
                blocks[i] = null;
            }
            var kept = ProcessMemory.ResidentBytes();
            Assert.True(NativeHeap.Trim());
            var trimmed = ProcessMemory.ResidentBytes();
            Assert.True(kept - trimmed >= 48 * MiB, $"the trim gave back {(kept - trimmed) / MiB} MiB of the 64 MiB freed");
        }
        finally
        {
            foreach (var block in blocks)
            {
                NativeMemory.Free(block);
            }
        }
    }

    // Writes a byte in every page so that each is resident.
    private static void Touch(byte* block, int size)
    {
        for (var offset = 0; offset < size; offset += 4096)
        {
            block[offset] = 1;
        }
    }
}
