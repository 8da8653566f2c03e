/*
 * Glue between hardfs-tar and ISA-L's streaming inflate. struct
 * inflate_state is large and its layout follows the installed header, so
 * it stays on this side. Rust keeps an opaque pointer and passes slices.
 */

#include <stdint.h>
#include <stdlib.h>

#include <isa-l/igzip_lib.h>

/* Each member's header is parsed in Rust; ISA-L inflates the body and
 * checks the trailer (CRC-32 and ISIZE) that follows it. */
static void start_member(struct inflate_state *state)
{
	isal_inflate_init(state);
	state->crc_flag = ISAL_GZIP_NO_HDR_VER;
}

struct inflate_state *hardfs_isal_new(void)
{
	struct inflate_state *state = malloc(sizeof *state);

	if (state != NULL)
		start_member(state);
	return state;
}

void hardfs_isal_reset(struct inflate_state *state)
{
	start_member(state);
}

void hardfs_isal_free(struct inflate_state *state)
{
	free(state);
}

/*
 * Inflates from input into output. Returns ISA-L's status (0, or a
 * negative ISAL_* error); *finished is 1 once the trailer was read and
 * matched.
 */
int hardfs_isal_inflate(struct inflate_state *state,
			const uint8_t *input, uint32_t input_len, uint32_t *consumed,
			uint8_t *output, uint32_t output_len, uint32_t *produced,
			int *finished)
{
	int status;

	state->next_in = (uint8_t *) input;
	state->avail_in = input_len;
	state->next_out = output;
	state->avail_out = output_len;
	status = isal_inflate(state);
	*consumed = input_len - state->avail_in;
	*produced = output_len - state->avail_out;
	*finished = state->block_state == ISAL_BLOCK_FINISH;
	return status;
}
