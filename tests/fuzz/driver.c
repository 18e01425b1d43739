/*
 * driver.c -- runs a libFuzzer-style target without libFuzzer (for gcc
 * -fsanitize=address,undefined): replays every file of the corpus
 * directories given, then feeds random and mutated inputs for a time budget.
 *
 *     driver [-t seconds] [-s seed] corpus_dir...
 *
 * Prints the number of inputs run; an input on which the target aborts is
 * written to ./crash-input, so it can be replayed (put it in a directory).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

#define FUZZ_MAX_INPUT 4096
#define MAX_SEEDS 256

static uint8_t seeds[MAX_SEEDS][FUZZ_MAX_INPUT];
static size_t seed_len[MAX_SEEDS];
static int n_seeds = 0;

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t next(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

/* The input being run, written to ./crash-input if the target aborts
 * (an invariant, or a sanitizer with ASAN_OPTIONS=abort_on_error=1). */
static const uint8_t *current;
static size_t current_len;

static void dump_input(int sig)
{
    const int fd = open("crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t ignored = write(fd, current, current_len);
        (void)ignored;
        close(fd);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run(const uint8_t *input, size_t len)
{
    current = input;
    current_len = len;
    LLVMFuzzerTestOneInput(input, len);
}

static void replay_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    if (dp == NULL) {
        return;
    }
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            continue;
        }
        uint8_t buf[FUZZ_MAX_INPUT];
        const size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        run(buf, len);
        if (n_seeds < MAX_SEEDS) {
            memcpy(seeds[n_seeds], buf, len);
            seed_len[n_seeds++] = len;
        }
    }
    closedir(dp);
}

int main(int argc, char **argv)
{
    double budget = 10.0;
    int first_dir = 1;
    for (; first_dir < argc && argv[first_dir][0] == '-'; first_dir += 2) {
        if (first_dir + 1 >= argc) {
            break;
        }
        if (strcmp(argv[first_dir], "-t") == 0) {
            budget = atof(argv[first_dir + 1]);
        } else if (strcmp(argv[first_dir], "-s") == 0) {
            rng_state = strtoull(argv[first_dir + 1], NULL, 10) | 1u;
        }
    }
    signal(SIGABRT, dump_input);
    signal(SIGSEGV, dump_input);
    for (int i = first_dir; i < argc; i++) {
        replay_dir(argv[i]);
    }
    const long replayed = n_seeds;
    long runs = 0;
    const time_t start = time(NULL);
    uint8_t buf[FUZZ_MAX_INPUT];
    while (difftime(time(NULL), start) < budget) {
        size_t len;
        if (n_seeds > 0 && (next() & 1)) { /* mutate a seed */
            const int s = (int)(next() % (uint64_t)n_seeds);
            len = seed_len[s];
            memcpy(buf, seeds[s], len);
            const int flips = 1 + (int)(next() % 8);
            for (int f = 0; f < flips && len > 0; f++) {
                buf[next() % len] = (uint8_t)next();
            }
            if (next() % 4 == 0 && len < FUZZ_MAX_INPUT) { /* grow or cut */
                len = (size_t)(next() % FUZZ_MAX_INPUT);
                for (size_t i = seed_len[s]; i < len; i++) {
                    buf[i] = (uint8_t)next();
                }
            }
        } else { /* fresh random bytes, mostly short */
            len = (size_t)(next() % (next() & 1 ? 64 : FUZZ_MAX_INPUT));
            for (size_t i = 0; i < len; i++) {
                buf[i] = (uint8_t)next();
            }
        }
        run(buf, len);
        runs++;
    }
    printf("%ld corpus inputs replayed, %ld generated inputs run, no failure\n", replayed, runs);
    return 0;
}
