// Start-up support for the native-AOT image, linked into the binary (ReviewBot.csproj, LinkerArg).
//
// The image keeps its type data (method tables, dispatch maps: ~8 MiB) compressed ("dehydrated") and
// the runtime expands it into the zero-filled `.hydrated` section before Main. Written page by page,
// that is ~2,000 page faults, and a page fault is expensive on virtual machines (~13 us each on the
// 2-core VM ReviewBot is measured on: a third of the time to the first answer). Populating the
// section in one madvise call before the runtime starts costs ~3 ms for the same pages; asking for
// transparent huge pages first (MADV_HUGEPAGE) has the kernel back the section's 2 MiB-aligned stretches
// (6 of its ~8.6 MiB) with three pages instead of 1,536, which took ~1,600 faults and ~12 ms off the
// time to the first answer (bench/RESULTS.md, "Startup / Session 8"). Once the data is expanded, the
// compressed copy (~4 MiB of the read-only image) is never read again: its pages are dropped from the
// process (they stay in the page cache and would be read back if anything touched them). Measured in
// bench/RESULTS.md, "Startup / Session 7".
//
// All of it only advises the kernel: when a layout check fails or the kernel refuses (MADV_POPULATE_WRITE
// needs Linux 5.14), the runtime does what it would have done without them. Huge pages follow the host's
// THP setting: "never" makes the advice a no-op; with "madvise" (the usual default) the kernel may compact
// memory to find them, and uses small pages when it cannot.

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// Defined by the linker: the image's first byte, the start of .bss and the end of the image.
extern char __executable_start[], __bss_start[], _end[];

// The native-AOT module list: one pointer to the module's ReadyToRun header.
extern const void *__start___modules[] __attribute__((weak));
extern const void *__stop___modules[] __attribute__((weak));

// The header as the runtime reads it (src/coreclr/nativeaot/Runtime/inc/ModuleHeaders.h).
#define RTR_SIGNATURE 0x00525452u // "RTR"
#define RTR_MAJOR_VERSION 16
#define RTR_SECTION_DEHYDRATED_DATA 207

struct rtr_header
{
    uint32_t signature;
    uint16_t major_version;
    uint16_t minor_version;
    uint32_t flags;
    uint16_t number_of_sections;
    uint8_t entry_size;
    uint8_t entry_type;
};

struct rtr_section
{
    int32_t id;
    int32_t flags;
    const char *start;
    const char *end;
};

static int populate_result = -1;
static int huge_page_result = -1;

static int within_image(const char *start, const char *end)
{
    return start >= __executable_start && start < end && end <= _end;
}

// The compressed type data's section, when the module header is the one this file knows; else 0.
static const struct rtr_section *find_dehydrated_data(void)
{
    if (__start___modules == 0 || __stop___modules - __start___modules < 1)
    {
        return 0;
    }

    const struct rtr_header *header = (const struct rtr_header *)__start___modules[0];
    if (header == 0
        || !within_image((const char *)header, (const char *)(header + 1))
        || header->signature != RTR_SIGNATURE
        || header->major_version != RTR_MAJOR_VERSION
        || header->entry_size != sizeof(struct rtr_section))
    {
        return 0;
    }

    const struct rtr_section *sections = (const struct rtr_section *)(header + 1);
    if (!within_image((const char *)sections, (const char *)(sections + header->number_of_sections)))
    {
        return 0;
    }

    for (int i = 0; i < header->number_of_sections; i++)
    {
        if (sections[i].id == RTR_SECTION_DEHYDRATED_DATA && within_image(sections[i].start, sections[i].end))
        {
            return &sections[i];
        }
    }

    return 0;
}

__attribute__((constructor)) static void reviewbot_populate_type_data(void)
{
    // .bss and, after it, the .hydrated section the type data is expanded into, to the end of the image.
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = (uintptr_t)__bss_start & ~(page - 1);
    uintptr_t to = ((uintptr_t)_end + page - 1) & ~(page - 1);
    huge_page_result = madvise((void *)from, to - from, MADV_HUGEPAGE) == 0 ? 0 : errno;
    populate_result = madvise((void *)from, to - from, MADV_POPULATE_WRITE) == 0 ? 0 : errno;
}

// 0 when the expanded type data's pages were populated before the runtime started, else the errno.
int reviewbot_populate_result(void)
{
    return populate_result;
}

// 0 when the kernel took the advice to back those pages with transparent huge pages, else the errno
// (EINVAL: a kernel built without them).
int reviewbot_huge_page_result(void)
{
    return huge_page_result;
}

// Drops the compressed type data's whole pages from the process once the runtime has expanded it.
// Returns the bytes dropped, or -errno; 0 when the data was not found.
long reviewbot_release_dehydrated_data(void)
{
    const struct rtr_section *data = find_dehydrated_data();
    if (data == 0)
    {
        return 0;
    }

    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)data->start + page - 1) & ~(page - 1);
    uintptr_t to = (uintptr_t)data->end & ~(page - 1);
    if (to <= from)
    {
        return 0;
    }

    return madvise((void *)from, to - from, MADV_DONTNEED) == 0 ? (long)(to - from) : -(long)errno;
}
